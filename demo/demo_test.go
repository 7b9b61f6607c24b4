package demo

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/synth"
)

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// pagesByKind lists the demo URL paths (prefix stripped) of each page kind
// synth knows.
func pagesByKind() map[string][]string {
	m := map[string][]string{
		synth.PageLanding:   {"/"},
		synth.PageSearch:    {"/search"},
		synth.PageCart:      {"/cart"},
		synth.PageCheckout:  {"/checkout"},
		synth.PageThankYou:  {"/checkout/thank-you"},
		synth.PageSignup:    {"/signup"},
		synth.PagePricing:   {"/pricing"},
		synth.PageBlogIndex: {"/blog"},
		synth.PageAccount:   {"/account"},
	}
	for _, p := range synth.Products()[:6] {
		m[synth.PageProduct] = append(m[synth.PageProduct], "/product/"+p.Slug)
	}
	for _, p := range synth.BlogPosts() {
		m[synth.PagePost] = append(m[synth.PagePost], "/blog/"+p.Slug)
	}
	return m
}

func allPages() []string {
	var out []string
	for _, ps := range pagesByKind() {
		out = append(out, ps...)
	}
	slices.Sort(out)
	return out
}

func TestServesPages(t *testing.T) {
	h := Handler()
	type tc struct {
		method, path string
		status       int
		ctype        string
		contains     string
	}
	cases := []tc{
		{"GET", "/", 200, "text/html; charset=utf-8", "<h1>Gear for the long way round</h1>"},
		{"GET", "/index.html", 200, "text/html; charset=utf-8", `id="home"`},
		{"GET", "/search?q=boots", 200, "text/html; charset=utf-8", `id="search"`},
		{"GET", "/search?category=jackets", 200, "text/html; charset=utf-8", `id="search"`},
		{"GET", "/signup?plan=plus", 200, "text/html; charset=utf-8", `id="signup-form"`},
		{"GET", "/assets/style.css", 200, "text/css; charset=utf-8", ".site-header"},
		{"GET", "/assets/app.js", 200, "text/javascript; charset=utf-8", "apply-coupon"},
		{"GET", "/assets/img/hero.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/assets/img/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"HEAD", "/cart", 200, "text/html; charset=utf-8", ""},
		{"GET", "/nope", 404, "text/html; charset=utf-8", "Page not found"},
		{"GET", "/product/no-such-thing", 404, "text/html; charset=utf-8", "Page not found"},
		{"GET", "/404", 404, "text/html; charset=utf-8", "Page not found"},
		{"GET", "/../../etc/passwd", 404, "text/html; charset=utf-8", ""},
		{"GET", "/.hidden", 404, "text/html; charset=utf-8", ""},
		{"POST", "/cart", 405, "text/plain; charset=utf-8", "method not allowed"},
	}
	for _, p := range allPages() {
		cases = append(cases, tc{"GET", p, 200, "text/html; charset=utf-8", "</html>"})
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			rec := get(t, h, c.method, c.path)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if got := rec.Header().Get("Content-Type"); got != c.ctype {
				t.Errorf("Content-Type %q, want %q", got, c.ctype)
			}
			if c.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD with a body of %d bytes", rec.Body.Len())
			}
			if !strings.Contains(rec.Body.String(), c.contains) {
				t.Errorf("body lacks %q", c.contains)
			}
			if c.status == 200 && rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff header")
			}
		})
	}
}

func TestETag(t *testing.T) {
	h := Handler()
	rec := get(t, h, "GET", "/pricing")
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if rec := get(t, h, "GET", "/pricing", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", rec.Code)
	}
	if other := get(t, h, "GET", "/cart").Header().Get("ETag"); other == etag {
		t.Error("two pages share an ETag")
	}
}

var headRE = regexp.MustCompile(`(?s)<head>(.*)</head>`)

func TestSnippetMarker(t *testing.T) {
	const snippet = `<script>window.sightline = window.sightline || []; if (1 < 2 && true) {}</script>`
	plain, with := Handler(), HandlerWithSnippet(snippet)
	pages := append(allPages(), "/404")
	for _, p := range pages {
		body := get(t, plain, "GET", p).Body.String()
		head := headRE.FindStringSubmatch(body)
		if head == nil || strings.Count(head[1], SnippetMarker) != 1 || strings.Count(body, SnippetMarker) != 1 {
			t.Errorf("%s: want exactly one %s, inside <head>", p, SnippetMarker)
			continue
		}
		if strings.Contains(body, "sightline = window.sightline") {
			t.Errorf("%s: plain handler carries a snippet", p)
		}
		got := get(t, with, "GET", p).Body.String()
		if !strings.Contains(headRE.FindStringSubmatch(got)[1], SnippetMarker+"\n"+snippet) {
			t.Errorf("%s: snippet not in place", p)
		}
		// The page must still parse for the element tests once the snippet
		// is there.
		if _, err := parseHTML(got); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if js := get(t, with, "GET", "/assets/app.js").Body.String(); strings.Contains(js, snippet) {
		t.Error("snippet inserted into JavaScript")
	}
}

// TestLinksResolve follows every local href and src of every page.
func TestLinksResolve(t *testing.T) {
	h := Handler()
	attrRE := regexp.MustCompile(`\s(?:href|src)="([^"]*)"`)
	base, _ := url.Parse("http://shop.test/demo/")
	checked := map[string]bool{}
	for _, p := range allPages() {
		body := get(t, h, "GET", p).Body.String()
		if !strings.Contains(body, `<base href="/demo/">`) {
			t.Errorf("%s: no <base href=\"/demo/\">", p)
		}
		for _, m := range attrRE.FindAllStringSubmatch(body, -1) {
			ref := m[1]
			if ref == "#" || strings.HasPrefix(ref, "http") {
				continue
			}
			u, err := base.Parse(ref)
			if err != nil {
				t.Fatalf("%s: link %q: %v", p, ref, err)
			}
			if !strings.HasPrefix(u.Path, "/demo/") {
				t.Errorf("%s: link %q leaves /demo/", p, ref)
				continue
			}
			target := strings.TrimPrefix(u.RequestURI(), "/demo")
			if checked[target] {
				continue
			}
			checked[target] = true
			if rec := get(t, h, "GET", target); rec.Code != 200 {
				t.Errorf("%s: link %q → %s answers %d", p, ref, target, rec.Code)
			}
		}
	}
	if len(checked) < 20 {
		t.Errorf("only %d distinct links checked", len(checked))
	}
}

func parsePage(t *testing.T, h http.Handler, p string) *node {
	t.Helper()
	doc, err := parseHTML(get(t, h, "GET", p).Body.String())
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return doc
}

// captured are the attributes the SDK reports in element chains besides
// id, class and href.
func captured(n *node) map[string]string {
	out := map[string]string{}
	for k, v := range n.attrs {
		if k == "name" || k == "role" || k == "aria-label" || strings.HasPrefix(k, "data-") {
			out[k] = v
		}
	}
	return out
}

// chainOf describes n the way the SDK does: n up to, excluding, <body>.
func chainOf(n *node) []event.Element {
	var out []event.Element
	for ; n != nil && n.tag != "body" && n.tag != "#document"; n = n.parent {
		nth, nthType := n.position()
		out = append(out, event.Element{Tag: n.tag, ID: n.attrs["id"], Classes: n.classes(),
			Attrs: captured(n), NthChild: nth, NthOfType: nthType, Text: n.textContent()})
	}
	return out
}

// sameChain compares synth's chain with the page's. Classes may differ by
// "active", a state the page toggles; when the target varies with the
// product shown, text and data-* values are not compared.
func sameChain(want, got []event.Element, varies bool) error {
	if len(want) != len(got) {
		return fmt.Errorf("chain of %d elements, page has %d", len(want), len(got))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Tag != g.Tag || w.ID != g.ID || w.NthChild != g.NthChild || w.NthOfType != g.NthOfType {
			return fmt.Errorf("element %d: synth %s#%s nth %d/%d, page %s#%s nth %d/%d",
				i, w.Tag, w.ID, w.NthChild, w.NthOfType, g.Tag, g.ID, g.NthChild, g.NthOfType)
		}
		extra := slices.DeleteFunc(slices.Clone(g.Classes), func(c string) bool { return slices.Contains(w.Classes, c) })
		for _, c := range w.Classes {
			if !slices.Contains(g.Classes, c) {
				return fmt.Errorf("element %d (%s): class %q missing on the page", i, w.Tag, c)
			}
		}
		if len(extra) > 0 && !slices.Equal(extra, []string{"active"}) {
			return fmt.Errorf("element %d (%s): page has classes %v that synth lacks", i, w.Tag, extra)
		}
		if varies {
			if !slices.Equal(slices.Sorted(maps.Keys(w.Attrs)), slices.Sorted(maps.Keys(g.Attrs))) {
				return fmt.Errorf("element %d (%s): attributes %v, page %v", i, w.Tag, w.Attrs, g.Attrs)
			}
			continue
		}
		if !maps.Equal(w.Attrs, g.Attrs) && len(w.Attrs)+len(g.Attrs) > 0 {
			return fmt.Errorf("element %d (%s): attributes %v, page %v", i, w.Tag, w.Attrs, g.Attrs)
		}
		if w.Text != "" && w.Text != g.Text {
			return fmt.Errorf("element %d (%s): text %q, page %q", i, w.Tag, w.Text, g.Text)
		}
	}
	return nil
}

// TestPlantedElements checks every element synth generates events on
// against the page that holds it: the selector finds it, and the element
// chain the SDK would report is the one synth reports.
func TestPlantedElements(t *testing.T) {
	h := Handler()
	kinds := pagesByKind()
	docs := map[string]*node{}
	for _, p := range allPages() {
		docs[p] = parsePage(t, h, p)
	}
	planted := map[string]bool{}
	for _, tg := range synth.Targets() {
		pages := kinds[tg.Page]
		if tg.Page == synth.PageAny {
			pages = allPages()
		}
		if len(pages) == 0 {
			t.Errorf("%s: no demo page of kind %q", tg.Name, tg.Page)
			continue
		}
		for _, p := range pages {
			found, err := docs[p].querySelectorAll(tg.Selector)
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 {
				t.Errorf("%s on %s: selector %q matches %d elements, want 1", tg.Name, p, tg.Selector, len(found))
				continue
			}
			if err := sameChain(tg.Chain, chainOf(found[0]), tg.Varies); err != nil {
				t.Errorf("%s on %s: %v", tg.Name, p, err)
			}
			if tg.Selector == synth.SelApplyCoupon || tg.Selector == synth.SelSizeGuide || tg.Selector == synth.SelWishlist {
				planted[tg.Selector] = true
			}
		}
	}
	if len(planted) != 3 {
		t.Errorf("planted elements found: %v", planted)
	}
	// Fields the SDK must never capture are there to be tried.
	for p, sels := range map[string][]string{
		"/checkout": {"input#card-number", "input#card-expiry", "input#cvv", "input#email"},
		"/signup":   {"input#signup-password[name=password]"},
		"/account":  {"input#login-password[name=password]"},
	} {
		for _, sel := range sels {
			if found, _ := docs[p].querySelectorAll(sel); len(found) != 1 {
				t.Errorf("%s: %s missing", p, sel)
			}
		}
	}
}

// TestSiteMatchesCatalog checks the demo's products and posts against
// synth's catalog, so that demo sessions and synthetic ones look alike.
func TestSiteMatchesCatalog(t *testing.T) {
	h := Handler()
	products := synth.Products()[:6]
	search := parsePage(t, h, "/search")
	cards, _ := search.querySelectorAll("ul.results a.product-card")
	if len(cards) != len(products) {
		t.Fatalf("search lists %d products, want %d", len(cards), len(products))
	}
	for i, p := range products {
		if got := cards[i].textContent(); got != p.Name {
			t.Errorf("search result %d is %q, want %q (popularity order)", i+1, got, p.Name)
		}
		doc := parsePage(t, h, "/product/"+p.Slug)
		h1, _ := doc.querySelectorAll("div.product-info > h1")
		price, _ := doc.querySelectorAll("p.price")
		if len(h1) != 1 || h1[0].textContent() != p.Name || len(price) != 1 || price[0].textContent() != fmt.Sprintf("$%.0f", p.Price) {
			t.Errorf("product page %s does not show %s at $%.0f", p.Slug, p.Name, p.Price)
		}
		li := cards[i].parent
		if li.attrs["data-category"] != p.Category {
			t.Errorf("%s: card category %q, want %q", p.Slug, li.attrs["data-category"], p.Category)
		}
	}
	index := parsePage(t, h, "/blog")
	for i, post := range synth.BlogPosts() {
		links, _ := index.querySelectorAll(fmt.Sprintf("article.post-summary:nth-child(%d) a.post-link", i+2))
		if len(links) != 1 || links[0].textContent() != post.Title {
			t.Errorf("journal entry %d is not %q", i+1, post.Title)
		}
		doc := parsePage(t, h, "/blog/"+post.Slug)
		link, _ := doc.querySelectorAll("a.inline-product")
		if len(link) != 1 || link[0].attrs["href"] != "product/"+post.Product {
			t.Errorf("post %s does not link %s", post.Slug, post.Product)
		}
	}
}

// TestNothingSensitive checks that no page shows an e-mail address or a
// card-like number: the privacy tests must find only what they type.
func TestNothingSensitive(t *testing.T) {
	email := regexp.MustCompile(`[\w.+-]+@[\w-]+\.[\w.]+`)
	digits := regexp.MustCompile(`\d[\d -]{11,}\d`)
	err := fs.WalkDir(site, "site", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := site.ReadFile(p)
		if err != nil {
			return err
		}
		if m := email.Find(b); m != nil {
			t.Errorf("%s shows an e-mail address: %s", p, m)
		}
		if m := digits.Find(b); m != nil && !strings.HasSuffix(p, ".svg") {
			t.Errorf("%s shows a long number: %s", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWishlistErrorPosition checks that synth's $error events point at the
// line of app.js that throws.
func TestWishlistErrorPosition(t *testing.T) {
	js := strings.Split(get(t, Handler(), "GET", "/assets/app.js").Body.String(), "\n")
	checked := 0
	_, err := synth.Generate(synth.Config{Seed: 1, Days: 3, Events: 30_000}, func(batch []event.Raw) error {
		for _, e := range batch {
			if e.Event != "$error" || !strings.Contains(string(e.Properties), "wishlist") && !strings.Contains(string(e.Properties), "reading 'add'") {
				continue
			}
			var p struct {
				Line  int    `json:"$error_lineno"`
				Col   int    `json:"$error_colno"`
				Stack string `json:"$error_stack"`
			}
			if err := json.Unmarshal(e.Properties, &p); err != nil {
				return err
			}
			if p.Line < 1 || p.Line > len(js) || !strings.HasPrefix(js[p.Line-1][p.Col-1:], "add(") ||
				!strings.Contains(js[p.Line-1], "window.wishlist.add") {
				t.Fatalf("error at %d:%d, but app.js has %q there", p.Line, p.Col, js[min(p.Line, len(js))-1])
			}
			if !strings.Contains(p.Stack, fmt.Sprintf("app.js:%d:%d", p.Line, p.Col)) {
				t.Fatalf("stack %q does not point at %d:%d", p.Stack, p.Line, p.Col)
			}
			checked++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no wishlist errors generated")
	}
}
