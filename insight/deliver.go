package insight

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"sync"
	"time"
)

// Channel is where an alert rule sends its notifications.
type Channel struct {
	// Type is "webhook" or "email".
	Type string `json:"type"`
	// URL receives a webhook POST with a JSON body whose "text" field is
	// what Slack (and Mattermost, Discord's Slack endpoint, Teams
	// workflows) show.
	URL string `json:"url,omitempty"`
	// To are the e-mail recipients.
	To []string `json:"to,omitempty"`
}

func (c Channel) validate() error {
	switch c.Type {
	case "webhook":
		if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
			return fmt.Errorf("webhook url must start with http:// or https://")
		}
	case "email":
		if len(c.To) == 0 {
			return fmt.Errorf("email channel needs at least one address in to")
		}
		for _, a := range c.To {
			if !strings.Contains(a, "@") || strings.ContainsAny(a, "\r\n<>,") {
				return fmt.Errorf("%q is not an e-mail address", a)
			}
		}
	default:
		return fmt.Errorf("channel type must be webhook or email, not %q", c.Type)
	}
	return nil
}

// SMTPConfig is the mail server alerts are sent through.
type SMTPConfig struct {
	// Addr is host:port; empty disables e-mail delivery.
	Addr string
	From string
	// Username and Password, when set, authenticate with PLAIN (which
	// net/smtp only sends over TLS or to localhost).
	Username, Password string
}

// Notification is the JSON body of a webhook, and the content of an e-mail.
type Notification struct {
	// Text is a one-paragraph summary (Slack-compatible).
	Text      string    `json:"text"`
	Kind      string    `json:"kind"` // firing, resolved, test
	ProjectID int64     `json:"project_id"`
	RuleID    int64     `json:"rule_id"`
	RuleName  string    `json:"rule_name"`
	Key       string    `json:"key"`
	Message   string    `json:"message"`
	Value     float64   `json:"value"`
	At        time.Time `json:"at"`
	Release   string    `json:"release,omitempty"`
	URL       string    `json:"url,omitempty"`
}

// notifier sends deliveries with retries and backoff. It runs on its own
// goroutine (see Service.Start): a receiver that hangs or fails delays
// only its own notifications, never evaluation, and never ingestion, which
// does not know insight exists.
type notifier struct {
	state       *State
	client      *http.Client
	smtp        SMTPConfig
	maxAttempts int
	backoff     time.Duration
	maxBackoff  time.Duration
	now         func() time.Time
	// mu serializes deliverDue: the notifier's goroutine and a direct
	// DeliverDue would otherwise both pick up, and both send, the same
	// pending delivery.
	mu sync.Mutex
}

// backoffAfter is the wait after the n-th failed attempt: backoff·2^(n−1),
// capped.
func (n *notifier) backoffAfter(attempt int) time.Duration {
	d := n.backoff
	for i := 1; i < attempt && d < n.maxBackoff; i++ {
		d *= 2
	}
	return min(d, n.maxBackoff)
}

// deliverDue sends the deliveries whose time has come and records each
// outcome; it returns how many were attempted.
func (n *notifier) deliverDue(ctx context.Context) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	due, err := n.state.dueDeliveries(ctx, 50)
	if err != nil {
		return 0, err
	}
	for _, d := range due {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		sendErr := n.send(ctx, d)
		attempts := d.Attempts + 1
		var next time.Time
		if sendErr != nil && attempts < n.maxAttempts {
			next = n.now().Add(n.backoffAfter(attempts))
		}
		if err := n.state.delivered(ctx, d.ID, attempts, sendErr, next); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

func (n *notifier) send(ctx context.Context, d Delivery) error {
	var note Notification
	if err := json.Unmarshal([]byte(d.body), &note); err != nil {
		return fmt.Errorf("decode notification: %w", err)
	}
	switch d.Channel {
	case "webhook":
		return n.sendWebhook(ctx, d.Target, []byte(d.body))
	case "email":
		return n.sendEmail(strings.Split(d.Target, ","), note)
	}
	return fmt.Errorf("unknown channel %q", d.Channel)
}

func (n *notifier) sendWebhook(ctx context.Context, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sightline-Alerts/1")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drained for connection reuse only
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: %s answered %s", url, resp.Status)
	}
	return nil
}

func (n *notifier) sendEmail(to []string, note Notification) error {
	if n.smtp.Addr == "" {
		return fmt.Errorf("email: no SMTP server configured")
	}
	subject := "[Sightline] " + note.RuleName
	switch note.Kind {
	case "resolved":
		subject = "[Sightline] Resolved: " + note.RuleName
	case "test":
		subject = "[Sightline] Test: " + note.RuleName
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		n.smtp.From, strings.Join(to, ", "), headerSafe(subject), note.At.Format(time.RFC1123Z))
	body := note.Text + "\r\n"
	if note.URL != "" {
		body += "\r\n" + note.URL + "\r\n"
	}
	// Lines starting with a dot are escaped by net/smtp's data writer.
	msg.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return n.smtpSend(to, bytes.ReplaceAll(msg.Bytes(), []byte("\r\r\n"), []byte("\r\n")))
}

// smtpSend is smtp.SendMail with timeouts: a mail server that never
// answers must not hold the notifier forever.
func (n *notifier) smtpSend(to []string, msg []byte) error {
	host, _, err := net.SplitHostPort(n.smtp.Addr)
	if err != nil {
		return fmt.Errorf("email: smtp address %q: %w", n.smtp.Addr, err)
	}
	conn, err := net.DialTimeout("tcp", n.smtp.Addr, 10*time.Second)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second)) //nolint:errcheck // a failed deadline shows as an I/O error below
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("email: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fmt.Errorf("email: starttls: %w", err)
		}
	}
	if n.smtp.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", n.smtp.Username, n.smtp.Password, host)); err != nil {
			return fmt.Errorf("email: auth: %w", err)
		}
	}
	if err := c.Mail(n.smtp.From); err != nil {
		return fmt.Errorf("email: MAIL FROM: %w", err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(strings.TrimSpace(rcpt)); err != nil {
			return fmt.Errorf("email: RCPT TO %s: %w", rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	return c.Quit()
}

func headerSafe(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
