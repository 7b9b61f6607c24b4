package meta

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// APIKey describes a project's secret API key; the secret itself is shown
// once, at creation, and only its SHA-256 is stored.
type APIKey struct {
	ID        int64
	ProjectID int64
	Name      string
	// Prefix is the start of the secret ("sls_AbCd1234"), enough for a person
	// to tell keys apart in a list, far too little to guess the rest.
	Prefix     string
	CreatedBy  int64 // user id, 0 when created by the system or the admin key
	CreatedAt  time.Time
	LastUsedAt time.Time // zero if never used
	RevokedAt  time.Time // zero while active
}

// Active reports whether the key still authenticates.
func (k APIKey) Active() bool { return k.RevokedAt.IsZero() }

const (
	apiKeyPrefix = "sls_"
	apiKeyBytes  = 32 // 256 bits: see secretHash
	// apiKeyShown is how much of the secret Prefix keeps: the "sls_" and 8
	// characters (48 bits) of the random part.
	apiKeyShown = len(apiKeyPrefix) + 8
	// lastUsedGranularity bounds how often a key's last_used_at is written:
	// a busy API client would otherwise turn every read into a write.
	lastUsedGranularity = time.Minute
)

// ValidAPIKey reports whether secret has the shape of an API key.
func ValidAPIKey(secret string) bool { return wellFormed(secret, apiKeyPrefix, apiKeyBytes) }

func (s *Store) insertAPIKey(ctx context.Context, tx *sql.Tx, projectID int64, name string, createdBy int64) (string, APIKey, error) {
	secret := randomToken(apiKeyPrefix, apiKeyBytes)
	k := APIKey{ProjectID: projectID, Name: name, Prefix: secret[:apiKeyShown], CreatedBy: createdBy}
	now := s.nowMs()
	err := tx.QueryRowContext(ctx, `INSERT INTO api_keys (project_id, name, prefix, key_hash, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		projectID, name, k.Prefix, secretHash(secret), nullID(createdBy), now).Scan(&k.ID)
	k.CreatedAt = msTime(now)
	return secret, k, err
}

// CreateAPIKey creates a key for a project and returns its secret, which
// cannot be retrieved later. createdBy is a user id or 0.
func (s *Store) CreateAPIKey(ctx context.Context, projectID int64, name string, createdBy int64) (string, APIKey, error) {
	if len(name) > 200 {
		return "", APIKey{}, fmt.Errorf("meta: create API key: %w: name is longer than 200 bytes", ErrInvalid)
	}
	var (
		secret string
		k      APIKey
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		secret, k, err = s.insertAPIKey(ctx, tx, projectID, name, createdBy)
		return err
	})
	if err != nil {
		return "", APIKey{}, s.classify(err, fmt.Sprintf("create API key for project %d", projectID))
	}
	return secret, k, nil
}

// RevokeAPIKey revokes a project's key; it stops authenticating at once.
// Revoking a revoked key is not an error.
func (s *Store) RevokeAPIKey(ctx context.Context, projectID, keyID int64) error {
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3)
			WHERE project_id = $1 AND id = $2 RETURNING id`, projectID, keyID, s.nowMs()).Scan(&id)
	})
	return s.classify(err, fmt.Sprintf("revoke API key %d of project %d", keyID, projectID))
}

// ListAPIKeys returns a project's keys, revoked ones included, by id.
func (s *Store) ListAPIKeys(ctx context.Context, projectID int64) ([]APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, project_id, name, prefix, created_by, created_at, last_used_at, revoked_at
		FROM api_keys WHERE project_id = $1 ORDER BY id`, projectID)
	if err != nil {
		return nil, s.classify(err, "list API keys")
	}
	defer rows.Close()
	var keys []APIKey
	for rows.Next() {
		var (
			k                 APIKey
			by, used, revoked sql.NullInt64
			created           int64
		)
		if err := rows.Scan(&k.ID, &k.ProjectID, &k.Name, &k.Prefix, &by, &created, &used, &revoked); err != nil {
			return nil, s.classify(err, "list API keys")
		}
		k.CreatedBy, k.CreatedAt, k.LastUsedAt, k.RevokedAt = by.Int64, msTime(created), nullMsTime(used), nullMsTime(revoked)
		keys = append(keys, k)
	}
	return keys, s.classify(rows.Err(), "list API keys")
}

// ProjectByAPIKey returns the project an active key belongs to, and records
// the use (at most once a minute per key).
//
// The lookup is an indexed equality match on SHA-256(secret), so no
// constant-time comparison is needed: whatever the timing of the index
// search reveals is about the hash of the attacker's own guess, and learning
// that some stored hash shares a prefix with it does not help to find a
// secret that hashes to a stored value (that would take a SHA-256
// preimage). The secret itself is never compared.
func (s *Store) ProjectByAPIKey(ctx context.Context, secret string) (Project, error) {
	if !ValidAPIKey(secret) {
		return Project{}, fmt.Errorf("meta: project by API key: %w", ErrNotFound)
	}
	var (
		keyID int64
		used  sql.NullInt64
		p     Project
		doc   string
		cr    int64
		up    int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT k.id, k.last_used_at, p.id, p.name, p.token, p.settings, p.created_at, p.updated_at
		FROM api_keys k JOIN projects p ON p.id = k.project_id
		WHERE k.key_hash = $1 AND k.revoked_at IS NULL`, secretHash(secret)).
		Scan(&keyID, &used, &p.ID, &p.Name, &p.Token, &doc, &cr, &up)
	if err != nil {
		return Project{}, s.classify(err, "project by API key")
	}
	if p.Settings, err = decodeSettings(doc); err != nil {
		return Project{}, fmt.Errorf("meta: project by API key: project %d: %w", p.ID, err)
	}
	p.CreatedAt, p.UpdatedAt = msTime(cr), msTime(up)

	now := s.now()
	if !used.Valid || now.Sub(msTime(used.Int64)) >= lastUsedGranularity {
		// Bookkeeping: a failure here must not fail the request.
		if _, err := s.w.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, keyID, now.UnixMilli()); err != nil {
			s.log.Warn("meta: record API key use", "key", keyID, "err", err)
		}
	}
	return p, nil
}
