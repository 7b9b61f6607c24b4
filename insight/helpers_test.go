package insight

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/store/duckdb"
	"github.com/sightline-analytics/sightline/synth"
)

const testProject = 1

// loadSynth generates cfg into a fresh in-memory DuckDB store and returns
// it with the planted behavior group of every session.
func loadSynth(t testing.TB, cfg synth.Config) (*duckdb.Store, map[string]string) {
	t.Helper()
	return loadSynthProject(t, cfg, testProject)
}

// loadSynthProject is loadSynth into project pid.
func loadSynthProject(t testing.TB, cfg synth.Config, pid int64) (*duckdb.Store, map[string]string) {
	t.Helper()
	return loadSynthAt(t, cfg, pid, "")
}

// loadSynthAt is loadSynthProject into a store at path ("" in memory).
func loadSynthAt(t testing.TB, cfg synth.Config, pid int64, path string) (*duckdb.Store, map[string]string) {
	t.Helper()
	db, err := duckdb.Open(path, duckdb.Options{})
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	groups := map[string]string{}
	cfg.OnSession = func(id, g string) { groups[id] = g }
	loadInto(t, cfg, pid, db)
	return db, groups
}

// smtpServer is a minimal SMTP receiver on 127.0.0.1 for tests: it speaks
// enough of RFC 5321 for net/smtp (EHLO, MAIL, RCPT, DATA, QUIT, RSET,
// NOOP) and keeps every message.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []smtpMessage
	wg   sync.WaitGroup
}

type smtpMessage struct {
	From string
	To   []string
	Data string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp listen: %v", err)
	}
	s := &smtpServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) Addr() string { return s.ln.Addr().String() }

func (s *smtpServer) Messages() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.msgs...)
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	reply := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	reply("220 127.0.0.1 test SMTP")
	var cur smtpMessage
	for range 1000 {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			reply("250-127.0.0.1")
			reply("250 8BITMIME")
		case strings.HasPrefix(cmd, "HELO"):
			reply("250 127.0.0.1")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			cur = smtpMessage{From: strings.Trim(strings.TrimSpace(line)[10:], "<> ")}
			reply("250 OK")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			cur.To = append(cur.To, strings.Trim(strings.TrimSpace(line)[8:], "<> "))
			reply("250 OK")
		case cmd == "DATA":
			reply("354 end with <CRLF>.<CRLF>")
			var b strings.Builder
			for range 100000 {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			reply("250 OK queued")
		case cmd == "RSET", cmd == "NOOP":
			reply("250 OK")
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}
