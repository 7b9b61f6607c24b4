package event

// Server-side scrubbing: the same patterns the SDK masks in "balanced" mode,
// applied again at capture time so that a misconfigured or outdated SDK, or
// a hand-written integration, cannot put an email address or a card number
// into the event store. The scanners are hand-written (no regexp) because
// they run on every string of every event.

// Masks that replace what Scrub finds. They contain no digit and no '@', so
// scrubbing is idempotent.
const (
	MaskEmail  = "[email]"
	MaskCard   = "[card]"
	MaskNumber = "[number]"
)

// minDigitRun is the shortest digit run masked as a number: long enough to
// spare prices, years, dates and short codes, short enough to catch social
// security numbers (9 digits), phone numbers and account numbers.
const minDigitRun = 9

const (
	scrubEmails  = 1 << iota
	scrubNumbers // digit runs and card numbers
	scrubAll     = scrubEmails | scrubNumbers
)

// Scrub masks email addresses, card numbers and long digit runs in s.
//
//   - An email address (local@domain.tld, ASCII) becomes "[email]".
//   - A run of 13 to 19 digits, optionally grouped by single spaces or
//     dashes, that passes the Luhn check becomes "[card]".
//   - Any other run of at least 9 digits, grouped the same way (so
//     "123-45-6789" counts as 9), becomes "[number]".
//
// A digit run only counts when it stands alone as a word: digits glued to
// letters, '_' or '@' ("order_123456789", "a716-446655440000" in a UUID) and
// the parts of a decimal, time or date ("3.14159265358979", "12:30") are left
// alone.
//
// Scrub returns s itself, without allocating, when nothing matches.
func Scrub(s string) string {
	return scrubString(s, scrubAll)
}

func scrubString(s string, mode uint8) string {
	if !scrubCandidate(s, mode) {
		return s
	}
	var buf [256]byte
	out, changed := scrubAppend(buf[:0], s, mode)
	if !changed {
		return s
	}
	// A mask can complete a pattern the first pass did not see (a digit
	// run masked inside what then reads as an e-mail domain), so scrub
	// again until nothing changes (a few passes at most): scrubbing must
	// be idempotent.
	for range 4 {
		again, changed := scrubAppend(nil, string(out), mode)
		if !changed {
			break
		}
		out = again
	}
	return string(out)
}

// scrubCandidate is a quick pre-check: Scrub can only change a string that
// holds an '@' or enough digits.
func scrubCandidate[T ~string | ~[]byte](s T, mode uint8) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '@' && mode&scrubEmails != 0 {
			return true
		}
		if c >= '0' && c <= '9' {
			digits++
			if digits >= minDigitRun && mode&scrubNumbers != 0 {
				return true
			}
		}
	}
	return false
}

// scrubAppend appends s to dst with every match masked, and reports whether
// anything was masked.
func scrubAppend[T ~string | ~[]byte](dst []byte, s T, mode uint8) ([]byte, bool) {
	last := 0 // s[last:] has not been copied to dst yet
	changed := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '@' && mode&scrubEmails != 0:
			start, end, ok := emailAt(s, i, last)
			if ok {
				dst = append(dst, s[last:start]...)
				dst = append(dst, MaskEmail...)
				last, i, changed = end, end, true
				continue
			}
			i++
		case isDigit(c) && mode&scrubNumbers != 0:
			end := digitRun(s, i)
			if a, b, ok := aloneRun(s, i, end); ok {
				if digits := countDigits(s[a:b]); digits >= minDigitRun {
					dst = append(dst, s[last:a]...)
					if digits >= 13 && digits <= 19 && luhn(s[a:b]) {
						dst = append(dst, MaskCard...)
					} else {
						dst = append(dst, MaskNumber...)
					}
					last, changed = b, true
				}
			}
			i = end
		default:
			i++
		}
	}
	if !changed {
		return dst, false
	}
	return append(dst, s[last:]...), true
}

// digitRun returns the end of the run of digits starting at s[i], where
// single spaces or dashes may separate groups of digits.
func digitRun[T ~string | ~[]byte](s T, i int) int {
	j := i
	for j < len(s) {
		if isDigit(s[j]) {
			j++
			continue
		}
		if (s[j] == ' ' || s[j] == '-') && j+1 < len(s) && isDigit(s[j+1]) {
			j++
			continue
		}
		break
	}
	return j
}

func countDigits[T ~string | ~[]byte](s T) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// aloneRun returns the part of the digit run s[start:end] that stands alone
// as a word rather than being part of an identifier, a decimal, a time or a
// date. A group at either edge that is glued to a word is left out when a
// space separates it from the rest ("000000000 0@x.io": the last "0"
// belongs to the address), so that masking is idempotent.
func aloneRun[T ~string | ~[]byte](s T, start, end int) (a, b int, ok bool) {
	a, b = start, end
	if !aloneLeft(s, a) {
		for a < b && s[a] != ' ' {
			a++
		}
		if a == b {
			return 0, 0, false
		}
		a++
	}
	if !aloneRight(s, b) {
		for b > a && s[b-1] != ' ' {
			b--
		}
		if b == a {
			return 0, 0, false
		}
		b--
	}
	return a, b, aloneLeft(s, a) && aloneRight(s, b)
}

func aloneLeft[T ~string | ~[]byte](s T, start int) bool {
	if start == 0 {
		return true
	}
	c := s[start-1]
	if isWordByte(c) {
		return false
	}
	if start > 1 {
		if isNumberJoiner(c) && isDigit(s[start-2]) {
			return false
		}
		if c == '-' && isWordByte(s[start-2]) {
			// "…-a71b-446655440000": the last group of a UUID.
			return false
		}
	}
	return true
}

func aloneRight[T ~string | ~[]byte](s T, end int) bool {
	if end >= len(s) {
		return true
	}
	c := s[end]
	if isWordByte(c) {
		return false
	}
	if end+1 < len(s) {
		if isNumberJoiner(c) && isDigit(s[end+1]) {
			return false
		}
		if c == '-' && isWordByte(s[end+1]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// isWordByte reports whether c glues a digit run into a larger token.
func isWordByte(c byte) bool {
	return isDigit(c) || isAlpha(c) || c == '_' || c == '@' || c >= 0x80
}

// isNumberJoiner reports whether c, between two digits, makes one number of
// them (decimal point, thousands separator, time, date).
func isNumberJoiner(c byte) bool {
	return c == '.' || c == ',' || c == ':' || c == '/'
}

// luhn checks the digits of s (other bytes are skipped) with the Luhn
// algorithm that card numbers satisfy.
func luhn[T ~string | ~[]byte](s T) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if !isDigit(c) {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func isEmailLocal(c byte) bool {
	return isDigit(c) || isAlpha(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\''
}

func isDomainByte(c byte) bool {
	return isDigit(c) || isAlpha(c) || c == '.' || c == '-'
}

// emailAt finds the email address around the '@' at s[at] and returns its
// bounds. The address starts at from or later: what comes before was
// already masked, and the mask must not become part of a new match.
func emailAt[T ~string | ~[]byte](s T, at, from int) (start, end int, ok bool) {
	start = at
	for start > from && isEmailLocal(s[start-1]) {
		start--
	}
	for start < at && s[start] == '.' {
		start++
	}
	if start == at {
		return 0, 0, false
	}
	end = at + 1
	for end < len(s) && isDomainByte(s[end]) {
		end++
	}
	// A sentence may end right after the address.
	for end > at+1 && (s[end-1] == '.' || s[end-1] == '-') {
		end--
	}
	dom := s[at+1 : end]
	if len(dom) < 4 || dom[0] == '.' || dom[0] == '-' {
		return 0, 0, false
	}
	lastDot := -1
	for i := 0; i < len(dom); i++ {
		if dom[i] == '.' {
			if i > 0 && dom[i-1] == '.' {
				return 0, 0, false
			}
			lastDot = i
		}
	}
	if lastDot < 1 || len(dom)-lastDot-1 < 2 {
		return 0, 0, false
	}
	for i := lastDot + 1; i < len(dom); i++ {
		if !isAlpha(dom[i]) {
			return 0, 0, false
		}
	}
	return start, end, true
}

// SensitiveKey reports whether a property, attribute or query parameter
// named k holds a secret or payment data, so that its value must be dropped
// whatever it looks like.
//
// The name is split into words at separators, case changes and digits
// ("userPassword", "credit_card_number", "CVC2"), and it is sensitive when:
//
//   - a word contains "password", "passwd", "passphrase", "creditcard",
//     "cardnumber" or "socialsecurity";
//   - a word is one of pwd, cvv, cvc, csc, cvn, ssn, iban, secret, or a
//     compound written as one word (cardnumber, creditcard, ccnumber,
//     apikey, accesstoken, …);
//   - two adjacent words form credit/debit+card, card+number/no/cvc/exp/
//     holder/…, cc+number/cvc/exp/…, social+security, api/private/secret/
//     access+key, or access/refresh/auth/id/session/csrf/api/bearer/reset+
//     token;
//   - the whole name is "card", "cc", "token" or "pin".
//
// "token" alone as a word is deliberately not enough: analytics properties
// such as "input_tokens" or "token_count" (LLM usage) are common and
// harmless, while the credentials are almost always qualified
// ("access_token") or the whole name ("?token=" in a reset link). Likewise
// "card" alone is a common UI term ("card_title", "card_id"), so it needs a
// payment word beside it, unless it is the whole name.
func SensitiveKey(k string) bool {
	return sensitiveKey(k)
}

func sensitiveKey[T ~string | ~[]byte](k T) bool {
	if len(k) < 2 {
		return false
	}
	var prev, last uint16
	words := 0
	for i := 0; i < len(k); {
		// Skip separators.
		for i < len(k) && !isAlpha(k[i]) && !isDigit(k[i]) {
			i++
		}
		if i >= len(k) {
			break
		}
		start := i
		if isDigit(k[i]) {
			for i < len(k) && isDigit(k[i]) {
				i++
			}
		} else {
			upperRun := k[i] >= 'A' && k[i] <= 'Z'
			i++
			for i < len(k) && isAlpha(k[i]) {
				up := k[i] >= 'A' && k[i] <= 'Z'
				if up && !upperRun {
					break // camelCase boundary
				}
				if !up && upperRun && i-start > 1 {
					// "SSNNumber": the last capital starts the next word.
					i--
					break
				}
				if !up {
					upperRun = false
				}
				i++
			}
		}
		w := k[start:i]
		words++
		kind := wordKind(w)
		if kind&kindSensitive != 0 {
			return true
		}
		for _, p := range sensitivePairs {
			if prev&p[0] != 0 && kind&p[1] != 0 {
				return true
			}
		}
		prev = kind
		last = kind
	}
	return words == 1 && last&kindAlone != 0
}

// Word kinds: what a word of a key name means for SensitiveKey.
const (
	kindSensitive  uint16 = 1 << iota // sensitive on its own
	kindAlone                         // sensitive when it is the whole name
	kindCredit                        // credit, debit
	kindCard                          // card
	kindCardSecond                    // number, cvc, exp, holder, … after card
	kindCC                            // cc
	kindCCSecond                      // number, cvc, exp, … after cc
	kindSocial                        // social
	kindSecurity                      // security (after social, after card)
	kindCode                          // code (after security)
	kindKeyFirst                      // api, private, secret, access
	kindKey                           // key
	kindTokenFirst                    // access, refresh, auth, …
	kindToken                         // token
)

// sensitivePairs: a word of kind [0] followed by a word of kind [1].
var sensitivePairs = [...][2]uint16{
	{kindCredit, kindCard},
	{kindCard, kindCardSecond},
	{kindCC, kindCCSecond},
	{kindSocial, kindSecurity},
	{kindSecurity, kindCode},
	{kindKeyFirst, kindKey},
	{kindTokenFirst, kindToken},
}

// kindOf classifies a lowercase word. A switch, which the compiler turns
// into a binary search, is several times faster here than a map.
func kindOf(w string) uint16 {
	switch w {
	case "password", "passwd", "passphrase", "pwd", "cvn", "ssn", "iban", "cardnumber", "cardnum", "creditcard", "debitcard", "ccnumber", "ccnum", "cardcvc", "cardcvv", "cardholder", "socialsecurity", "apikey", "apisecret", "privatekey", "secretkey", "accesskey", "accesstoken", "refreshtoken", "authtoken", "idtoken", "sessiontoken", "csrftoken", "xsrftoken", "bearertoken", "authorization":
		return kindSensitive
	case "cvv", "cvc":
		return kindSensitive | kindCardSecond | kindCCSecond
	case "csc":
		return kindSensitive | kindCCSecond
	case "secret":
		return kindSensitive | kindKeyFirst
	case "card":
		return kindAlone | kindCard
	case "cc":
		return kindAlone | kindCC
	case "token":
		return kindAlone | kindToken
	case "pin":
		return kindAlone
	case "credit", "debit":
		return kindCredit
	case "number", "num", "no", "nr", "exp", "expiry":
		return kindCardSecond | kindCCSecond
	case "code":
		return kindCardSecond | kindCode
	case "expiration", "holder", "verification":
		return kindCardSecond
	case "security":
		return kindCardSecond | kindSecurity
	case "social":
		return kindSocial
	case "api", "access":
		return kindKeyFirst | kindTokenFirst
	case "private":
		return kindKeyFirst
	case "key":
		return kindKey
	case "refresh", "auth", "id", "session", "csrf", "xsrf", "bearer", "reset", "jwt":
		return kindTokenFirst
	}
	return 0
}

// hasCompound reports whether the lowercase word w contains a sensitive
// compound written as one word: "userpassword", "creditcardnumber".
func hasCompound(w []byte) bool {
	for i := 0; i+6 <= len(w); i++ {
		var cands []string
		switch w[i] {
		case 'p':
			cands = compoundsP
		case 'c':
			cands = compoundsC
		case 's':
			cands = compoundsS
		default:
			continue
		}
		for _, c := range cands {
			if len(w)-i >= len(c) && string(w[i:i+len(c)]) == c {
				return true
			}
		}
	}
	return false
}

var (
	compoundsP = []string{"password", "passwd", "passphrase"}
	compoundsC = []string{"creditcard", "cardnumber"}
	compoundsS = []string{"socialsecurity"}
)

// wordKind classifies one word of a key name, ignoring ASCII case.
func wordKind[T ~string | ~[]byte](w T) uint16 {
	var buf [32]byte
	if len(w) > len(buf) {
		for _, c := range [][]string{compoundsP, compoundsC, compoundsS} {
			for _, c := range c {
				if containsFold(w, c) {
					return kindSensitive
				}
			}
		}
		return 0
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lw := buf[:len(w)]
	if len(lw) > len("passwd") && hasCompound(lw) {
		return kindSensitive
	}
	return kindOf(string(lw))
}

// eqFold compares w to the lowercase ASCII word s, ignoring ASCII case.
func eqFold[T ~string | ~[]byte](w T, s string) bool {
	if len(w) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func containsFold[T ~string | ~[]byte](w T, s string) bool {
	for i := 0; i+len(s) <= len(w); i++ {
		if eqFold(w[i:i+len(s)], s) {
			return true
		}
	}
	return false
}
