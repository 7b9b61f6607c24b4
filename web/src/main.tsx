import { render } from 'preact';
import './styles.css';
import 'uplot/dist/uPlot.min.css';
import '@rrweb/replay/dist/style.css';
import { App } from './app';

render(<App />, document.getElementById('app')!);
