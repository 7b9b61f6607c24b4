package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// UserRole is a user's role on the whole instance.
type UserRole string

const (
	// UserAdmin may create projects and manage every project and user.
	UserAdmin UserRole = "admin"
	// UserMember sees only the projects they are a member of.
	UserMember UserRole = "member"
)

// User is a person who logs in to the web app.
type User struct {
	ID        int64
	Email     string // lower-cased
	Name      string
	Role      UserRole
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewUser is what CreateUser needs.
type NewUser struct {
	Email    string
	Name     string
	Password string
	Role     UserRole // UserMember when empty
}

// Password rules: a minimum that stops trivial passwords, and bcrypt's hard
// limit of 72 bytes (longer input would be silently truncated by older
// libraries and is refused by the current one).
const (
	minPasswordChars = 8
	maxPasswordBytes = 72
)

func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < minPasswordChars {
		return fmt.Errorf("%w: password must have at least %d characters", ErrInvalid, minPasswordChars)
	}
	if len(pw) > maxPasswordBytes {
		return fmt.Errorf("%w: password must be at most %d bytes", ErrInvalid, maxPasswordBytes)
	}
	return nil
}

func normalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", fmt.Errorf("%w: %q is not an e-mail address", ErrInvalid, email)
	}
	return email, nil
}

func (s *Store) hashPassword(pw string) (string, error) {
	if err := checkPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

const userCols = `id, email, name, role, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var (
		u      User
		cr, up int64
	)
	if err := row.Scan(append([]any{&u.ID, &u.Email, &u.Name, &u.Role, &cr, &up}, extra...)...); err != nil {
		return User{}, err
	}
	u.CreatedAt, u.UpdatedAt = msTime(cr), msTime(up)
	return u, nil
}

func (s *Store) prepareUser(nu NewUser) (email, hash string, role UserRole, err error) {
	if email, err = normalizeEmail(nu.Email); err != nil {
		return
	}
	if len(nu.Name) > 200 {
		err = fmt.Errorf("%w: name is longer than 200 bytes", ErrInvalid)
		return
	}
	role = nu.Role
	switch role {
	case "":
		role = UserMember
	case UserAdmin, UserMember:
	default:
		err = fmt.Errorf("%w: user role %q is not admin or member", ErrInvalid, role)
		return
	}
	hash, err = s.hashPassword(nu.Password)
	return
}

func insertUser(ctx context.Context, tx *sql.Tx, email, name, hash string, role UserRole, now int64) (User, error) {
	return scanUser(tx.QueryRowContext(ctx, `INSERT INTO users (email, name, password_hash, role, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) RETURNING `+userCols, email, strings.TrimSpace(name), hash, role, now))
}

// CreateUser creates a user; ErrConflict if the e-mail is taken.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	email, hash, role, err := s.prepareUser(nu)
	if err != nil {
		return User{}, fmt.Errorf("meta: create user: %w", err)
	}
	var u User
	err = s.write(ctx, func(tx *sql.Tx) error {
		u, err = insertUser(ctx, tx, email, nu.Name, hash, role, s.nowMs())
		return err
	})
	if err != nil {
		return User{}, s.classify(err, "create user "+email)
	}
	return u, nil
}

// SetupAdmin creates the first user, as an instance admin, for the first-run
// setup page. It fails with ErrConflict once any user exists, atomically, so
// two racing setup requests cannot both succeed.
func (s *Store) SetupAdmin(ctx context.Context, nu NewUser) (User, error) {
	nu.Role = UserAdmin
	email, hash, role, err := s.prepareUser(nu)
	if err != nil {
		return User{}, fmt.Errorf("meta: setup admin: %w", err)
	}
	var u User
	err = s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: setup is done already", ErrConflict)
		}
		u, err = insertUser(ctx, tx, email, nu.Name, hash, role, s.nowMs())
		return err
	})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return User{}, fmt.Errorf("meta: setup admin: %w", err)
		}
		return User{}, s.classify(err, "setup admin")
	}
	return u, nil
}

// UserCount returns the number of users (0 means setup has not run).
func (s *Store) UserCount(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, s.classify(err, "count users")
}

// User returns the user with id.
func (s *Store) User(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, s.classify(err, fmt.Sprintf("user %d", id))
}

// UserByEmail returns the user with that e-mail (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, email))
	return u, s.classify(err, "user by e-mail")
}

// ListUsers returns every user, by id.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, s.classify(err, "list users")
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, s.classify(err, "list users")
		}
		us = append(us, u)
	}
	return us, s.classify(rows.Err(), "list users")
}

// CheckPassword returns the user if email and password match, else
// ErrInvalidCredentials. An unknown e-mail costs the same bcrypt work as a
// wrong password, so response time does not reveal which accounts exist.
// Throttling repeated failures is the caller's job.
func (s *Store) CheckPassword(ctx context.Context, email, password string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var hash string
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE email = $1`, email), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		s.dummyOnce.Do(func() {
			s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password, just timing"), s.cost)
		})
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return User{}, fmt.Errorf("meta: check password: %w", ErrInvalidCredentials)
	}
	if err != nil {
		return User{}, s.classify(err, "check password")
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return User{}, fmt.Errorf("meta: check password: %w", ErrInvalidCredentials)
	}
	return u, nil
}

// SetPassword changes a user's password and ends all their login sessions.
func (s *Store) SetPassword(ctx context.Context, userID int64, password string) error {
	hash, err := s.hashPassword(password)
	if err != nil {
		return fmt.Errorf("meta: set password: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 RETURNING id`,
			userID, hash, s.nowMs()).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		return err
	})
	return s.classify(err, fmt.Sprintf("set password of user %d", userID))
}

// DeleteUser deletes a user with their memberships and sessions.
func (s *Store) DeleteUser(ctx context.Context, userID int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		return tx.QueryRowContext(ctx, `DELETE FROM users WHERE id = $1 RETURNING id`, userID).Scan(&id)
	})
	return s.classify(err, fmt.Sprintf("delete user %d", userID))
}

// Role is a user's role in one project.
type Role string

const (
	RoleAdmin  Role = "admin"  // settings, keys, members, everything below
	RoleMember Role = "member" // create and edit insights, actions, segments, dashboards
	RoleViewer Role = "viewer" // read only
)

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleMember:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r grants everything min grants.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.Valid() }

// Membership is a user's role in a project.
type Membership struct {
	ProjectID   int64
	ProjectName string
	UserID      int64
	Role        Role
	CreatedAt   time.Time
}

// SetMembership adds a user to a project or changes their role there.
func (s *Store) SetMembership(ctx context.Context, projectID, userID int64, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("meta: set membership: %w: role %q is not admin, member or viewer", ErrInvalid, role)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO memberships (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`, projectID, userID, role, s.nowMs())
		return err
	})
	return s.classify(err, fmt.Sprintf("set membership of user %d in project %d", userID, projectID))
}

// RemoveMembership removes a user from a project.
func (s *Store) RemoveMembership(ctx context.Context, projectID, userID int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		return tx.QueryRowContext(ctx, `DELETE FROM memberships WHERE project_id = $1 AND user_id = $2 RETURNING user_id`,
			projectID, userID).Scan(&id)
	})
	return s.classify(err, fmt.Sprintf("remove user %d from project %d", userID, projectID))
}

const membershipQuery = `SELECT m.project_id, p.name, m.user_id, m.role, m.created_at
	FROM memberships m JOIN projects p ON p.id = m.project_id `

func (s *Store) memberships(ctx context.Context, what, where string, arg int64) ([]Membership, error) {
	rows, err := s.r.QueryContext(ctx, membershipQuery+where, arg)
	if err != nil {
		return nil, s.classify(err, what)
	}
	defer rows.Close()
	var ms []Membership
	for rows.Next() {
		var (
			m  Membership
			cr int64
		)
		if err := rows.Scan(&m.ProjectID, &m.ProjectName, &m.UserID, &m.Role, &cr); err != nil {
			return nil, s.classify(err, what)
		}
		m.CreatedAt = msTime(cr)
		ms = append(ms, m)
	}
	return ms, s.classify(rows.Err(), what)
}

// Memberships returns the projects a user belongs to, by project id.
func (s *Store) Memberships(ctx context.Context, userID int64) ([]Membership, error) {
	return s.memberships(ctx, "memberships", `WHERE m.user_id = $1 ORDER BY m.project_id`, userID)
}

// ProjectMembers returns a project's members, by user id.
func (s *Store) ProjectMembers(ctx context.Context, projectID int64) ([]Membership, error) {
	return s.memberships(ctx, "project members", `WHERE m.project_id = $1 ORDER BY m.user_id`, projectID)
}

// ProjectRole returns what a user may do in a project: RoleAdmin for
// instance admins, else their membership's role. ErrNotFound when they have
// no access, which the API should answer as 404 (not 403), so that project
// ids are not confirmed to outsiders.
func (s *Store) ProjectRole(ctx context.Context, userID, projectID int64) (Role, error) {
	var (
		userRole UserRole
		role     sql.NullString
	)
	err := s.r.QueryRowContext(ctx, `SELECT u.role, m.role FROM users u
		LEFT JOIN memberships m ON m.user_id = u.id AND m.project_id = $2
		WHERE u.id = $1 AND EXISTS (SELECT 1 FROM projects WHERE id = $2)`, userID, projectID).Scan(&userRole, &role)
	if err != nil {
		return "", s.classify(err, fmt.Sprintf("role of user %d in project %d", userID, projectID))
	}
	switch {
	case userRole == UserAdmin:
		return RoleAdmin, nil
	case role.Valid:
		return Role(role.String), nil
	}
	return "", fmt.Errorf("meta: role of user %d in project %d: %w", userID, projectID, ErrNotFound)
}

// Session is a login session; the cookie holds its token, the table its hash.
type Session struct {
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

const sessionTokenBytes = 32

// CreateSession starts a login session for a user lasting ttl and returns
// the token for the cookie. Expired sessions are swept on the way.
func (s *Store) CreateSession(ctx context.Context, userID int64, ttl time.Duration) (string, Session, error) {
	if ttl <= 0 {
		return "", Session{}, fmt.Errorf("meta: create session: %w: ttl must be positive", ErrInvalid)
	}
	tok := randomToken("", sessionTokenBytes)
	now := s.now()
	sess := Session{UserID: userID, CreatedAt: msTime(now.UnixMilli()), ExpiresAt: msTime(now.Add(ttl).UnixMilli())}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			secretHash(tok), userID, sess.CreatedAt.UnixMilli(), sess.ExpiresAt.UnixMilli())
		return err
	})
	if err != nil {
		return "", Session{}, s.classify(err, fmt.Sprintf("create session for user %d", userID))
	}
	return tok, sess, nil
}

// SessionUser returns the user of a live session; ErrNotFound if the token
// is unknown, expired or deleted.
func (s *Store) SessionUser(ctx context.Context, token string) (User, Session, error) {
	if !wellFormed(token, "", sessionTokenBytes) {
		return User{}, Session{}, fmt.Errorf("meta: session: %w", ErrNotFound)
	}
	var (
		sess   Session
		cr, ex int64
	)
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT u.id, u.email, u.name, u.role, u.created_at, u.updated_at, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, secretHash(token), s.nowMs()), &cr, &ex)
	if err != nil {
		return User{}, Session{}, s.classify(err, "session")
	}
	sess.UserID, sess.CreatedAt, sess.ExpiresAt = u.ID, msTime(cr), msTime(ex)
	return u, sess, nil
}

// DeleteSession ends a session (logout). Deleting an unknown session is not
// an error: logging out twice is fine.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, secretHash(token))
		return err
	})
	return s.classify(err, "delete session")
}

// DeleteUserSessions ends every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		return err
	})
	return s.classify(err, fmt.Sprintf("delete sessions of user %d", userID))
}

// Invite is a pending invitation of an e-mail address into a project.
type Invite struct {
	ID         int64
	ProjectID  int64
	Email      string
	Role       Role
	InvitedBy  int64
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt time.Time // zero while pending
}

const inviteCols = `id, project_id, email, role, invited_by, created_at, expires_at, accepted_at`

func scanInvite(row interface{ Scan(...any) error }) (Invite, error) {
	var (
		inv        Invite
		by, acc    sql.NullInt64
		cr, expire int64
	)
	if err := row.Scan(&inv.ID, &inv.ProjectID, &inv.Email, &inv.Role, &by, &cr, &expire, &acc); err != nil {
		return Invite{}, err
	}
	inv.InvitedBy, inv.CreatedAt, inv.ExpiresAt, inv.AcceptedAt = by.Int64, msTime(cr), msTime(expire), nullMsTime(acc)
	return inv, nil
}

// CreateInvite invites email into a project with role, valid for ttl, and
// returns the token for the invitation link.
func (s *Store) CreateInvite(ctx context.Context, projectID int64, email string, role Role, invitedBy int64, ttl time.Duration) (string, Invite, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return "", Invite{}, fmt.Errorf("meta: create invite: %w", err)
	}
	if !role.Valid() {
		return "", Invite{}, fmt.Errorf("meta: create invite: %w: role %q is not admin, member or viewer", ErrInvalid, role)
	}
	if ttl <= 0 {
		return "", Invite{}, fmt.Errorf("meta: create invite: %w: ttl must be positive", ErrInvalid)
	}
	tok := randomToken("", sessionTokenBytes)
	now := s.now()
	var inv Invite
	err = s.write(ctx, func(tx *sql.Tx) error {
		inv, err = scanInvite(tx.QueryRowContext(ctx, `INSERT INTO invites (project_id, email, role, token_hash, invited_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+inviteCols,
			projectID, email, role, secretHash(tok), nullID(invitedBy), now.UnixMilli(), now.Add(ttl).UnixMilli()))
		return err
	})
	if err != nil {
		return "", Invite{}, s.classify(err, fmt.Sprintf("create invite into project %d", projectID))
	}
	return tok, inv, nil
}

// InviteByToken returns a pending, unexpired invite.
func (s *Store) InviteByToken(ctx context.Context, token string) (Invite, error) {
	if !wellFormed(token, "", sessionTokenBytes) {
		return Invite{}, fmt.Errorf("meta: invite: %w", ErrNotFound)
	}
	inv, err := scanInvite(s.r.QueryRowContext(ctx, `SELECT `+inviteCols+` FROM invites
		WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > $2`, secretHash(token), s.nowMs()))
	return inv, s.classify(err, "invite")
}

// AcceptInvite makes userID a member of the invite's project with its role
// and marks it accepted, once. The caller creates or logs in the user first
// and decides whether the user's e-mail must match the invite's.
func (s *Store) AcceptInvite(ctx context.Context, token string, userID int64) (Invite, error) {
	var inv Invite
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		inv, err = scanInvite(tx.QueryRowContext(ctx, `UPDATE invites SET accepted_at = $2
			WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > $2 RETURNING `+inviteCols, secretHash(token), s.nowMs()))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO memberships (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`, inv.ProjectID, userID, inv.Role, s.nowMs())
		return err
	})
	if err != nil {
		return Invite{}, s.classify(err, "accept invite")
	}
	return inv, nil
}

// ListInvites returns a project's pending, unexpired invites.
func (s *Store) ListInvites(ctx context.Context, projectID int64) ([]Invite, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+inviteCols+` FROM invites
		WHERE project_id = $1 AND accepted_at IS NULL AND expires_at > $2 ORDER BY id`, projectID, s.nowMs())
	if err != nil {
		return nil, s.classify(err, "list invites")
	}
	defer rows.Close()
	var invs []Invite
	for rows.Next() {
		inv, err := scanInvite(rows)
		if err != nil {
			return nil, s.classify(err, "list invites")
		}
		invs = append(invs, inv)
	}
	return invs, s.classify(rows.Err(), "list invites")
}

// DeleteInvite withdraws an invite.
func (s *Store) DeleteInvite(ctx context.Context, projectID, inviteID int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		return tx.QueryRowContext(ctx, `DELETE FROM invites WHERE project_id = $1 AND id = $2 RETURNING id`, projectID, inviteID).Scan(&id)
	})
	return s.classify(err, fmt.Sprintf("delete invite %d", inviteID))
}
