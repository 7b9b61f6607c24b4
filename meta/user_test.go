package meta

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestUsersAndPasswords(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)

	u, err := s.CreateUser(ctx, NewUser{Email: " Ada@Example.COM ", Name: "Ada", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ada@example.com" || u.Role != UserMember || u.Name != "Ada" {
		t.Fatalf("CreateUser = %+v", u)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM users WHERE password_hash LIKE '%correct horse%'`); n != 0 {
		t.Fatal("password stored in clear")
	}

	_, err = s.CreateUser(ctx, NewUser{Email: "ADA@example.com", Password: "another one"})
	wantErr(t, err, ErrConflict)

	for _, nu := range []NewUser{
		{Email: "not an address", Password: "long enough"},
		{Email: "Bob <bob@example.com>", Password: "long enough"},
		{Email: "bob@example.com", Password: "short"},
		{Email: "bob@example.com", Password: strings.Repeat("x", 73)},
		{Email: "bob@example.com", Password: "long enough", Role: "root"},
	} {
		_, err := s.CreateUser(ctx, nu)
		wantErr(t, err, ErrInvalid)
	}

	if got, err := s.UserByEmail(ctx, "ADA@example.com"); err != nil || got.ID != u.ID {
		t.Fatalf("UserByEmail = %+v, %v", got, err)
	}
	if got, err := s.User(ctx, u.ID); err != nil || got != u {
		t.Fatalf("User = %+v, %v; want %+v", got, err, u)
	}
	_, err = s.UserByEmail(ctx, "nobody@example.com")
	wantErr(t, err, ErrNotFound)

	tests := []struct {
		email, password string
		ok              bool
	}{
		{"ada@example.com", "correct horse", true},
		{"  ADA@example.com", "correct horse", true},
		{"ada@example.com", "Correct horse", false},
		{"ada@example.com", "", false},
		{"nobody@example.com", "correct horse", false},
	}
	for _, tt := range tests {
		got, err := s.CheckPassword(ctx, tt.email, tt.password)
		if tt.ok && (err != nil || got.ID != u.ID) {
			t.Errorf("CheckPassword(%q, %q) = %+v, %v", tt.email, tt.password, got, err)
		}
		if !tt.ok {
			wantErr(t, err, ErrInvalidCredentials)
		}
	}

	tok, _, err := s.CreateSession(ctx, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, u.ID, "battery staple"); err != nil {
		t.Fatal(err)
	}
	_, err = s.CheckPassword(ctx, u.Email, "correct horse")
	wantErr(t, err, ErrInvalidCredentials)
	if _, err := s.CheckPassword(ctx, u.Email, "battery staple"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	_, _, err = s.SessionUser(ctx, tok)
	wantErr(t, err, ErrNotFound) // a password change ends sessions
	wantErr(t, s.SetPassword(ctx, 9999, "whatever123"), ErrNotFound)
	wantErr(t, s.SetPassword(ctx, u.ID, "short"), ErrInvalid)

	if n, err := s.UserCount(ctx); err != nil || n != 1 {
		t.Fatalf("UserCount = %d, %v", n, err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.User(ctx, u.ID)
	wantErr(t, err, ErrNotFound)
	wantErr(t, s.DeleteUser(ctx, u.ID), ErrNotFound)
}

func TestSetupAdminOnlyOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	if n, _ := s.UserCount(ctx); n != 0 {
		t.Fatal("fresh store has users")
	}
	a, err := s.SetupAdmin(ctx, NewUser{Email: "root@example.com", Password: "password1", Role: UserMember})
	if err != nil || a.Role != UserAdmin {
		t.Fatalf("SetupAdmin = %+v, %v", a, err)
	}
	_, err = s.SetupAdmin(ctx, NewUser{Email: "second@example.com", Password: "password1"})
	wantErr(t, err, ErrConflict)
	if users, err := s.ListUsers(ctx); err != nil || len(users) != 1 {
		t.Fatalf("ListUsers = %+v, %v", users, err)
	}
}

func TestMembershipsAndRoles(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	p, _ := mustProject(t, s, "A")
	q, _ := mustProject(t, s, "B")
	admin, _ := s.CreateUser(ctx, NewUser{Email: "admin@example.com", Password: "password1", Role: UserAdmin})
	member, _ := s.CreateUser(ctx, NewUser{Email: "m@example.com", Password: "password1"})
	outsider, _ := s.CreateUser(ctx, NewUser{Email: "o@example.com", Password: "password1"})

	if err := s.SetMembership(ctx, p.ID, member.ID, RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMembership(ctx, p.ID, member.ID, RoleMember); err != nil { // upsert
		t.Fatal(err)
	}
	if err := s.SetMembership(ctx, q.ID, member.ID, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SetMembership(ctx, p.ID, member.ID, "owner"), ErrInvalid)
	wantErr(t, s.SetMembership(ctx, p.ID, 9999, RoleViewer), ErrNotFound)
	wantErr(t, s.SetMembership(ctx, 9999, member.ID, RoleViewer), ErrNotFound)

	ms, err := s.Memberships(ctx, member.ID)
	if err != nil || len(ms) != 2 || ms[0].ProjectName != "A" || ms[0].Role != RoleMember || ms[1].Role != RoleAdmin {
		t.Fatalf("Memberships = %+v, %v", ms, err)
	}
	if ms, err := s.ProjectMembers(ctx, p.ID); err != nil || len(ms) != 1 || ms[0].UserID != member.ID {
		t.Fatalf("ProjectMembers = %+v, %v", ms, err)
	}

	tests := []struct {
		user, project int64
		want          Role // "" means no access
	}{
		{member.ID, p.ID, RoleMember},
		{member.ID, q.ID, RoleAdmin},
		{admin.ID, p.ID, RoleAdmin}, // instance admins administer every project
		{outsider.ID, p.ID, ""},
		{member.ID, 9999, ""},
		{admin.ID, 9999, ""},
		{9999, p.ID, ""},
	}
	for _, tt := range tests {
		got, err := s.ProjectRole(ctx, tt.user, tt.project)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ProjectRole(%d, %d) = %q, want ErrNotFound", tt.user, tt.project, got)
			}
			wantErr(t, err, ErrNotFound)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ProjectRole(%d, %d) = %q, %v; want %q", tt.user, tt.project, got, err, tt.want)
		}
	}

	if err := s.RemoveMembership(ctx, p.ID, member.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.ProjectRole(ctx, member.ID, p.ID)
	wantErr(t, err, ErrNotFound)
	wantErr(t, s.RemoveMembership(ctx, p.ID, member.ID), ErrNotFound)
}

func TestRoleAtLeast(t *testing.T) {
	tests := []struct {
		r, min Role
		want   bool
	}{
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleViewer, true},
		{RoleMember, RoleAdmin, false},
		{RoleMember, RoleMember, true},
		{RoleViewer, RoleMember, false},
		{RoleViewer, RoleViewer, true},
		{"", RoleViewer, false},
		{"root", RoleViewer, false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := tt.r.AtLeast(tt.min); got != tt.want {
			t.Errorf("%q.AtLeast(%q) = %v, want %v", tt.r, tt.min, got, tt.want)
		}
	}
}

func TestSessionsExpire(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s, _ := openTest(t, WithClock(clk.Now))
	u, _ := s.CreateUser(ctx, NewUser{Email: "u@example.com", Password: "password1"})

	tok, sess, err := s.CreateSession(ctx, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.ExpiresAt.Equal(clk.Now().Add(time.Hour)) || len(tok) < 43 {
		t.Fatalf("CreateSession = %q, %+v", tok, sess)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, tok); n != 0 {
		t.Fatal("session token stored in clear")
	}
	got, gs, err := s.SessionUser(ctx, tok)
	if err != nil || got.ID != u.ID || gs != sess {
		t.Fatalf("SessionUser = %+v, %+v, %v", got, gs, err)
	}
	clk.Advance(59 * time.Minute)
	if _, _, err := s.SessionUser(ctx, tok); err != nil {
		t.Fatalf("session before expiry: %v", err)
	}
	clk.Advance(time.Minute)
	_, _, err = s.SessionUser(ctx, tok)
	wantErr(t, err, ErrNotFound)

	// Creating a session sweeps the expired ones.
	tok2, _, err := s.CreateSession(ctx, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM sessions`); n != 1 {
		t.Errorf("%d sessions stored, want 1 after the sweep", n)
	}
	if err := s.DeleteSession(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SessionUser(ctx, tok2)
	wantErr(t, err, ErrNotFound)
	if err := s.DeleteSession(ctx, tok2); err != nil {
		t.Errorf("logging out twice: %v", err)
	}

	tok3, _, _ := s.CreateSession(ctx, u.ID, time.Hour)
	tok4, _, _ := s.CreateSession(ctx, u.ID, time.Hour)
	if err := s.DeleteUserSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{tok3, tok4} {
		_, _, err = s.SessionUser(ctx, tk)
		wantErr(t, err, ErrNotFound)
	}
	_, _, err = s.SessionUser(ctx, "garbage")
	wantErr(t, err, ErrNotFound)
	_, _, err = s.CreateSession(ctx, 9999, time.Hour)
	wantErr(t, err, ErrNotFound)
	_, _, err = s.CreateSession(ctx, u.ID, 0)
	wantErr(t, err, ErrInvalid)

	// Deleting the user ends their sessions.
	tok5, _, _ := s.CreateSession(ctx, u.ID, time.Hour)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SessionUser(ctx, tok5)
	wantErr(t, err, ErrNotFound)
}

func TestInvites(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s, _ := openTest(t, WithClock(clk.Now))
	p, _ := mustProject(t, s, "p")
	admin, _ := s.CreateUser(ctx, NewUser{Email: "admin@example.com", Password: "password1"})

	tok, inv, err := s.CreateInvite(ctx, p.ID, "New@Example.com", RoleViewer, admin.ID, 24*time.Hour)
	if err != nil || inv.Email != "new@example.com" || inv.InvitedBy != admin.ID {
		t.Fatalf("CreateInvite = %+v, %v", inv, err)
	}
	if got, err := s.InviteByToken(ctx, tok); err != nil || got.ID != inv.ID {
		t.Fatalf("InviteByToken = %+v, %v", got, err)
	}
	if l, err := s.ListInvites(ctx, p.ID); err != nil || len(l) != 1 {
		t.Fatalf("ListInvites = %+v, %v", l, err)
	}
	u, _ := s.CreateUser(ctx, NewUser{Email: "new@example.com", Password: "password1"})
	acc, err := s.AcceptInvite(ctx, tok, u.ID)
	if err != nil || acc.AcceptedAt.IsZero() {
		t.Fatalf("AcceptInvite = %+v, %v", acc, err)
	}
	if r, err := s.ProjectRole(ctx, u.ID, p.ID); err != nil || r != RoleViewer {
		t.Fatalf("role after accepting = %q, %v", r, err)
	}
	_, err = s.AcceptInvite(ctx, tok, u.ID)
	wantErr(t, err, ErrNotFound) // once only
	_, err = s.InviteByToken(ctx, tok)
	wantErr(t, err, ErrNotFound)

	tok2, inv2, _ := s.CreateInvite(ctx, p.ID, "late@example.com", RoleMember, 0, time.Hour)
	clk.Advance(time.Hour)
	_, err = s.InviteByToken(ctx, tok2)
	wantErr(t, err, ErrNotFound)
	_, err = s.AcceptInvite(ctx, tok2, u.ID)
	wantErr(t, err, ErrNotFound)
	if l, _ := s.ListInvites(ctx, p.ID); len(l) != 0 {
		t.Errorf("expired or accepted invites listed: %+v", l)
	}
	if err := s.DeleteInvite(ctx, p.ID, inv2.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.CreateInvite(ctx, p.ID, "x@example.com", "boss", 0, time.Hour)
	wantErr(t, err, ErrInvalid)
}
