// The ESM bundle (dist/sightline.esm.js) for bundlers: the same SDK as an
// import, touching no global at all.

import { autocapture } from './autocapture';
import { create } from './core';
import { replay } from './replay';

export type * from './api';

export const sightline = create(autocapture, replay);
export default sightline;
