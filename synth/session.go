package synth

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/sightline-analytics/sightline/event"
)

// page is the page a session is on.
type page struct {
	kind    string
	url     string
	title   string
	ref     string
	docH    int
	start   int64   // ms of the pageview
	bottom  float64 // deepest y the viewport's bottom edge reached
	product int     // product index on product pages
	query   *searchQuery
	results []int // products listed, on search pages
}

// docHeights are the pages' heights in the desktop and mobile layouts.
var docHeights = map[string][2]int{
	PageLanding: {2900, 5200}, PageSearch: {2400, 6200}, PageProduct: {2300, 3900},
	PageCart: {1100, 1500}, PageCheckout: {1500, 2300}, PageThankYou: {900, 1100},
	PageSignup: {950, 1100}, PagePricing: {1900, 3600}, PageBlogIndex: {1600, 2600},
	PagePost: {3600, 6400}, PageAccount: {1000, 1200},
}

var pageTitles = map[string]string{
	PageLanding: shopName + " — Gear for the long way round", PageSearch: "Shop — " + shopName,
	PageCart: "Your cart — " + shopName, PageCheckout: "Checkout — " + shopName,
	PageThankYou: "Thank you — " + shopName, PageSignup: "Create your account — " + shopName,
	PagePricing: "Ridgeline Club — " + shopName, PageBlogIndex: "Journal — " + shopName,
	PageAccount: "Your account — " + shopName,
}

// sess builds one session's events.
type sess struct {
	g        *generator
	r        *rand.Rand
	t        int64
	dev      *device
	vw, vh   int
	mobile   bool
	vi       int // visitor index, -1 for bots
	distinct string
	group    string
	incident bool
	// loginPending is set for account holders who arrive logged out.
	loginPending bool

	sessionID, windowID string
	pg, prev            page
	noLeave             bool

	// Scratch buffers, reused from session to session: events under
	// construction, their properties and coordinates. finish copies them
	// into out, sized exactly.
	raws   []event.Raw
	meta   []pending
	arena  []byte
	pstart int
	pfirst bool
	floats []float64
	order  []int
	cart   []int
	// lastOX and lastOY are the offsets of the last pointer event.
	lastOX, lastOY float64

	out []event.Raw
}

// pending is the bookkeeping of an event under construction.
type pending struct {
	ts         int64
	pOff, pEnd int32 // properties in arena (pEnd 0: none)
	fOff       int32 // x, y, offset_x, offset_y in floats
	fN         int8
}

func (g *generator) session(t int64) *sess {
	g.nSessions++
	g.spcg.Seed(uint64(g.cfg.Seed), g.nSessions*0x9E3779B97F4A7C15)
	r := g.srng
	s := &g.scratch
	*s = sess{g: g, r: r, t: t, vi: -1, incident: g.inIncident(t),
		raws: s.raws[:0], meta: s.meta[:0], arena: s.arena[:0], floats: s.floats[:0],
		order: s.order[:0], cart: s.cart[:0]}
	s.sessionID = uuidV7(t, r)
	s.windowID = uuidV7(t, r)
	if r.Float64() < botShare {
		s.bot()
	} else {
		s.human()
	}
	s.finish()
	return s
}

func (s *sess) human() {
	g, r := s.g, s.r
	vi, isNew := g.pickVisitor(s.t)
	s.vi = vi
	v := &g.visitors[vi]
	s.dev = &humanDevices[v.dev]
	s.vw, s.vh = v.vw, v.vh
	s.distinct = v.anon
	if v.loggedIn {
		s.distinct = v.user
	}
	if v.user != "" && r.Float64() < 0.08 {
		// The same person on another device: a new anonymous id there.
		d := pickCDF(humanDeviceCDF, r.Float64())
		s.dev = &humanDevices[d]
		size := s.dev.sizes[r.IntN(len(s.dev.sizes))]
		s.vw, s.vh = size[0], size[1]
		s.distinct = uuidV7(s.t, r)
	}
	s.mobile = s.vw < 768
	s.loginPending = v.user != "" && s.distinct != v.user && r.Float64() < 0.5
	s.group = s.pickGroup(v.user != "")
	switch s.group {
	case GroupBouncer:
		s.bouncer(!isNew)
	case GroupBrowser:
		s.browser(!isNew)
	case GroupSearcher:
		s.searcher(!isNew)
	case GroupBuyer:
		s.buyer(!isNew, false)
	case GroupFrustrated:
		s.buyer(!isNew, true)
	case GroupBlogReader:
		s.blogReader(!isNew)
	case GroupSignup:
		s.signupFlow(!isNew)
	}
	if v.loggedIn && s.distinct == v.user && s.group != GroupBouncer && r.Float64() < 0.02 {
		s.logout()
	}
	s.leave()
	// The SDK starts a new session after 30 minutes of inactivity.
	g.visitors[vi].busyUntil = s.t + 30*60_000
}

// groupWeights are the shares of human sessions per behavior group. During
// the incident, buyers who try a coupon hit the broken button and become
// frustrated: the frustrated share grows 8× and buyers halve.
var groupWeights = []struct {
	group            string
	normal, incident float64
}{
	{GroupBouncer, 32, 32}, {GroupBrowser, 22, 22}, {GroupSearcher, 13, 13}, {GroupBuyer, 14, 7},
	{GroupFrustrated, 1, 8}, {GroupBlogReader, 10, 10}, {GroupSignup, 8, 8},
}

func (s *sess) pickGroup(hasAccount bool) string {
	total := 0.0
	for _, w := range groupWeights {
		if hasAccount && w.group == GroupSignup {
			continue
		}
		total += s.weight(w.normal, w.incident)
	}
	u := s.r.Float64() * total
	for _, w := range groupWeights {
		if hasAccount && w.group == GroupSignup {
			continue
		}
		if u -= s.weight(w.normal, w.incident); u < 0 {
			return w.group
		}
	}
	return GroupBrowser
}

func (s *sess) weight(normal, incident float64) float64 {
	if s.incident {
		return incident
	}
	return normal
}

// ---- behavior groups ----

func (s *sess) bouncer(returning bool) {
	r := s.r
	src := s.pickSource(shopSources, returning)
	switch x := r.Float64(); {
	case x < 0.35:
		s.enter(src, PageLanding, -1)
	case x < 0.75:
		s.enter(src, PageProduct, s.zipfProduct())
	case x < 0.9:
		s.enter(pickSourceFrom(r, blogSources), PagePost, pickCDF(postCDF, r.Float64()))
	default:
		s.enter(src, PagePricing, -1)
	}
	s.wait(s.logn(6000, 0.9))
	if r.Float64() < 0.15 {
		s.clickNoise()
	}
	s.scrollTo(0.1 + 0.3*r.Float64())
	s.wait(s.logn(3000, 0.8))
}

func (s *sess) browser(returning bool) {
	r := s.r
	src := s.pickSource(shopSources, returning)
	switch x := r.Float64(); {
	case x < 0.5:
		s.enter(src, PageLanding, -1)
		s.onLanding()
	case x < 0.9:
		s.enter(src, PageProduct, s.zipfProduct())
	default:
		s.enter(src, PageSearch, -1)
	}
	s.maybeLogin()
	pages := 2 + s.geometric(0.3, 10)
	for range pages {
		if s.pg.kind == PageProduct {
			s.onProduct(false)
			if r.Float64() < 0.03 {
				s.addToCart()
			}
		} else if s.pg.kind == PageSearch {
			s.onSearch()
		}
		s.toProduct()
		if s.quickback() {
			s.toProduct()
		}
	}
	s.onProduct(false)
}

func (s *sess) searcher(returning bool) {
	r := s.r
	src := s.pickSource(shopSources, returning)
	if r.Float64() < 0.7 {
		s.enter(src, PageLanding, -1)
		s.wait(s.logn(3000, 0.6))
	} else {
		s.enter(src, PageSearch, -1)
		s.wait(s.logn(2500, 0.6))
	}
	s.maybeLogin()
	n := 2 + s.geometric(0.45, 5)
	var last *searchQuery
	for i := range n {
		q := &queries[pickCDF(queryCDF, r.Float64())]
		if q == last {
			continue
		}
		last = q
		s.search(q)
		s.wait(s.logn(4000, 0.6))
		if q.results == 0 {
			continue
		}
		if r.Float64() < 0.2 {
			s.scrollTo(0.3 + 0.5*r.Float64())
			s.wait(s.logn(3000, 0.6))
		}
		if r.Float64() < 0.75 {
			s.toProduct()
			if s.quickback() {
				continue
			}
			s.onProduct(false)
			if i == n-1 && r.Float64() < 0.1 {
				s.addToCart()
			}
		}
	}
}

// buyer runs both buyers and the frustrated-coupon group: the same path to
// the cart, then a coupon that works or a button that does nothing.
func (s *sess) buyer(returning, frustrated bool) {
	r := s.r
	src := s.pickSource(shopSources, returning)
	if r.Float64() < 0.45 {
		s.enter(src, PageLanding, -1)
		s.onLanding()
		s.maybeLogin()
		s.toProduct()
	} else {
		s.enter(src, PageProduct, s.zipfProduct())
		s.maybeLogin()
		if s.pg.kind != PageProduct {
			s.toProduct()
		}
	}
	for range s.geometric(0.6, 4) {
		s.onProduct(false)
		s.toProduct()
	}
	s.onProduct(true)
	s.addToCart()
	if r.Float64() < 0.3 {
		s.toProduct()
		s.onProduct(true)
		s.addToCart()
	}
	s.wait(s.logn(1500, 0.5))
	s.click(tCartLink)
	s.navigate(PageCart, -1, false)
	s.wait(s.logn(3500, 0.6))
	if len(s.cart) > 1 && r.Float64() < 0.08 {
		s.click(tRemoveItem)
		s.cart = s.cart[:len(s.cart)-1]
		s.wait(s.logn(2000, 0.5))
	}
	pCheckout, pPurchase := 0.85, 0.78
	if s.incident {
		// No coupon applies during the incident: some buyers hesitate.
		pPurchase = 0.7
	}
	if frustrated {
		s.brokenCoupon()
		pCheckout, pPurchase = 0.38, 0.5
	} else if !s.incident && r.Float64() < 0.25 {
		s.typeInto(tCouponInput)
		s.click(tApplyCoupon)
		s.wait(s.logn(2500, 0.5))
	}
	if r.Float64() >= pCheckout {
		if r.Float64() < 0.35 {
			s.click(tContinueShopping)
			s.navigate(PageSearch, -1, false)
			s.wait(s.logn(5000, 0.7))
		}
		return
	}
	s.checkout(pPurchase)
}

func (s *sess) blogReader(returning bool) {
	r := s.r
	src := s.pickSource(blogSources, returning)
	if r.Float64() < 0.9 {
		s.enter(src, PagePost, pickCDF(postCDF, r.Float64()))
	} else {
		s.enter(src, PageBlogIndex, -1)
		s.wait(s.logn(5000, 0.5))
		s.openPostFromIndex()
	}
	s.read()
	for s.r.Float64() < 0.35 {
		s.click(tBackToBlog)
		s.navigate(PageBlogIndex, -1, false)
		s.wait(s.logn(4000, 0.5))
		s.openPostFromIndex()
		s.read()
	}
	if r.Float64() < 0.2 {
		s.toProduct()
		s.onProduct(false)
	}
}

func (s *sess) signupFlow(returning bool) {
	r := s.r
	src := s.pickSource(shopSources, returning)
	if r.Float64() < 0.6 {
		s.enter(src, PagePricing, -1)
	} else {
		s.enter(src, PageLanding, -1)
		s.wait(s.logn(5000, 0.6))
		s.click(tNavPricing)
		s.navigate(PagePricing, -1, false)
	}
	s.wait(s.logn(6000, 0.6))
	if r.Float64() < 0.5 {
		s.click(tBillingYearly)
		s.wait(s.logn(2500, 0.5))
		if r.Float64() < 0.3 {
			s.click(tBillingMonthly)
			s.wait(s.logn(2000, 0.5))
		}
	}
	if r.Float64() < 0.35 {
		for range 1 + r.IntN(2) {
			s.click(tFAQ[r.IntN(len(tFAQ))])
			s.wait(s.logn(5000, 0.6))
		}
	}
	plan := 0
	if x := r.Float64(); x > 0.85 {
		plan = 2
	} else if x > 0.5 {
		plan = 1
	}
	if r.Float64() < 0.2 {
		s.hesitate(tPlans[plan])
	}
	s.click(tPlans[plan])
	s.navigate(PageSignup, plan, false)
	s.wait(s.logn(2500, 0.5))
	s.typeInto(tSignupEmail)
	// The password field is typed into but never reported.
	s.wait(s.logn(5000, 0.5))
	if r.Float64() < 0.18 {
		s.formAbandon(tSignupForm, "signup-form", 1)
		return
	}
	s.click(tSignupSubmit)
	s.submit(tSignupForm)
	s.signUp(planNames[plan], "pricing")
	s.navigate(PageAccount, -1, false)
	s.wait(s.logn(6000, 0.7))
}

func (s *sess) bot() {
	r := s.r
	s.group = GroupBot
	s.dev = &botDevices[r.IntN(len(botDevices))]
	s.vw, s.vh = s.dev.sizes[0][0], s.dev.sizes[0][1]
	s.mobile = s.vw < 768
	b := r.IntN(len(s.g.bots))
	s.distinct = s.g.bots[b]
	if !s.g.botSeen[b] {
		s.g.botSeen[b] = true
		s.g.persons++
	}
	s.noLeave = true
	n := 3 + r.IntN(13)
	for i := range n {
		kind, idx := PageLanding, -1
		if i > 0 {
			switch x := r.Float64(); {
			case x < 0.6:
				kind, idx = PageProduct, r.IntN(len(products))
			case x < 0.75:
				kind, idx = PagePost, r.IntN(len(posts))
			case x < 0.85:
				kind = PagePricing
			case x < 0.95:
				kind = PageSearch
			default:
				kind = PageBlogIndex
			}
		}
		s.open(kind, idx, "", false)
		s.wait(300 + r.Int64N(2200))
	}
}

// ---- page behaviors ----

func (s *sess) onLanding() {
	r := s.r
	s.wait(s.logn(4000, 0.7))
	if r.Float64() < 0.05 {
		s.clickNoise()
	}
	s.scrollTo(0.2 + 0.6*r.Float64())
	s.wait(s.logn(3000, 0.7))
	if r.Float64() < 0.03 {
		s.typeInto(tNewsEmail)
		s.click(tNewsSubmit)
		s.submit(tNewsForm)
		s.wait(s.logn(2000, 0.5))
	}
}

func (s *sess) onSearch() {
	r := s.r
	s.wait(s.logn(3500, 0.6))
	if r.Float64() < 0.25 {
		// Category filters are a client-side route (pushState).
		c := 1 + r.IntN(len(categories))
		s.click(tFilters[c])
		s.navigate(PageSearch, c, true)
		s.wait(s.logn(3000, 0.6))
	}
	if r.Float64() < 0.1 {
		s.click(tSort)
		s.wait(s.logn(1200, 0.4))
		s.change(tSort)
		s.wait(s.logn(2500, 0.6))
	}
	s.scrollTo(0.2 + 0.5*r.Float64())
}

func (s *sess) onProduct(buying bool) {
	r := s.r
	p := products[s.pg.product]
	apparel := p.Category == "jackets" || p.Category == "footwear"
	s.wait(s.logn(2500, 0.5))
	if r.Float64() < 0.35 {
		for range 1 + r.IntN(3) {
			s.click(tThumbs[r.IntN(len(tThumbs))])
			s.wait(s.logn(1800, 0.5))
		}
	}
	if r.Float64() < 0.08 {
		s.click(tProductImage)
		s.wait(s.logn(1000, 0.4))
	}
	if r.Float64() < 0.02 {
		s.click(tProductTitle)
	}
	if r.Float64() < 0.004 {
		// Some people expect the image to zoom.
		s.rage(tProductImage, 3+r.IntN(2))
	}
	if apparel && (buying || r.Float64() < 0.3) {
		s.click(tSize)
		s.wait(s.logn(1500, 0.4))
		s.change(tSize)
		s.wait(s.logn(1000, 0.4))
	}
	pGuide := 0.04
	if apparel {
		pGuide = 0.1
	}
	if r.Float64() < pGuide {
		s.dead(tSizeGuide)
		if r.Float64() < 0.3 {
			s.dead(tSizeGuide)
		}
	}
	if r.Float64() < 0.03 {
		s.errorClick(tWishlist)
	}
	if r.Float64() < 0.25 {
		s.click(tTabs[1+r.IntN(2)])
		s.wait(s.logn(6000, 0.7))
		if r.Float64() < 0.3 {
			s.click(tTabs[0])
			s.wait(s.logn(1500, 0.5))
		}
	}
	if buying && r.Float64() < 0.1 {
		s.click(tQtyPlus)
		s.wait(400 + r.Int64N(400))
		if r.Float64() < 0.4 {
			s.click(tQtyMinus)
		}
	}
	if r.Float64() < 0.007 {
		s.backgroundError()
	}
	if r.Float64() < 0.02 {
		s.thrash()
	}
	s.scrollTo(0.35 + 0.6*r.Float64())
	s.wait(s.logn(12000, 0.8))
}

func (s *sess) addToCart() {
	r := s.r
	if r.Float64() < 0.04 {
		s.hesitate(tAddToCart)
	}
	s.click(tAddToCart)
	s.wait(20 + r.Int64N(120))
	p := products[s.pg.product]
	i := s.track("add_to_cart")
	s.pBegin()
	s.pStr("product_id", p.Slug)
	s.pStr("product", p.Name)
	s.pStr("category", p.Category)
	s.pNum("price", p.Price)
	s.pStr("currency", "USD")
	s.pInt("quantity", 1)
	s.pEnd(i)
	s.cart = append(s.cart, s.pg.product)
	s.wait(s.logn(1500, 0.5))
}

// brokenCoupon is the planted frustration: Apply coupon does nothing, so
// people click it again and again.
func (s *sess) brokenCoupon() {
	r := s.r
	s.typeInto(tCouponInput)
	s.click(tApplyCoupon)
	// A pause long enough that the first click stays out of the burst.
	s.wait(1100 + r.Int64N(1400))
	s.rage(tApplyCoupon, 3+s.geometric(0.45, 6))
	if r.Float64() < 0.4 {
		s.wait(s.logn(3000, 0.5))
		s.rage(tApplyCoupon, 3+s.geometric(0.5, 4))
	}
	if r.Float64() < 0.2 {
		s.thrash()
	}
	s.wait(s.logn(4000, 0.6))
}

func (s *sess) checkout(pPurchase float64) {
	r := s.r
	total := 0.0
	for _, p := range s.cart {
		total += products[p].Price
	}
	s.click(tCheckoutButton)
	i := s.track("checkout_started")
	s.pBegin()
	s.pNum("cart_value", total)
	s.pInt("items", int64(len(s.cart)))
	s.pStr("currency", "USD")
	s.pEnd(i)
	s.navigate(PageCheckout, -1, false)
	s.wait(s.logn(3000, 0.5))
	fields := []*target{tName, tEmail, tAddress, tCity, tZip}
	willBuy := r.Float64() < pPurchase
	n := len(fields)
	if !willBuy {
		n = r.IntN(len(fields) + 1)
	}
	for _, f := range fields[:n] {
		s.typeInto(f)
	}
	if !willBuy {
		if n > 0 {
			s.formAbandon(tCheckoutForm, "checkout-form", n)
		} else {
			s.wait(s.logn(8000, 0.6))
		}
		return
	}
	// Card number, expiry and CVV: typed, never reported.
	s.wait(s.logn(14000, 0.4))
	s.scrollTo(0.9)
	if r.Float64() < 0.15 {
		s.hesitate(tPlaceOrder)
	}
	s.click(tPlaceOrder)
	s.submit(tCheckoutForm)
	s.wait(300 + r.Int64N(900))
	shipping := 0.0
	if total < 100 {
		shipping = 8.95
	}
	revenue := math.Round((total+shipping)*100) / 100
	s.g.nextOrder++
	s.g.revenue += revenue
	i = s.track("purchase")
	s.pBegin()
	s.pNum("revenue", revenue)
	s.pStr("currency", "USD")
	s.pStr("order_id", "R"+strconv.Itoa(100000+s.g.nextOrder))
	s.pInt("items", int64(len(s.cart)))
	s.pEnd(i)
	s.navigate(PageThankYou, -1, true)
	s.wait(s.logn(5000, 0.6))
	v := &s.g.visitors[s.vi]
	if v.user == "" && r.Float64() < 0.3 {
		s.click(tCreateAccount)
		s.navigate(PageSignup, 0, false)
		s.wait(s.logn(3000, 0.5))
		s.typeInto(tSignupEmail)
		s.wait(s.logn(4000, 0.5))
		s.click(tSignupSubmit)
		s.submit(tSignupForm)
		s.signUp("free", "checkout")
		s.navigate(PageAccount, -1, false)
		s.wait(s.logn(5000, 0.6))
	}
}

func (s *sess) read() {
	r := s.r
	// Reading happens in bursts of scrolling.
	depth := 0.55 + 0.45*r.Float64()
	steps := 3 + r.IntN(5)
	for k := 1; k <= steps; k++ {
		s.wait(s.logn(22000, 0.6))
		s.scrollTo(depth * float64(k) / float64(steps))
		if r.Float64() < 0.03 {
			s.click(tParagraph)
		}
	}
	if r.Float64() < 0.05 {
		s.click(tShare)
		s.wait(s.logn(2000, 0.5))
	}
}

func (s *sess) openPostFromIndex() {
	i := pickCDF(postCDF, s.r.Float64())
	if s.prev.kind == PagePost && i == s.prev.product {
		// Readers pick another post than the one they just read.
		i = (i + 1 + s.r.IntN(len(posts)-1)) % len(posts)
	}
	s.click(tPostLinks[i])
	s.navigate(PagePost, i, false)
}

// toProduct follows a link to a product page from wherever the session is.
func (s *sess) toProduct() {
	r := s.r
	switch s.pg.kind {
	case PageLanding:
		switch x := r.Float64(); {
		case x < 0.75:
			pos := pickCDF(featuredCDF, r.Float64())
			c := gFeatured.card(pos, pos, s.g.cards)
			s.click(&c)
			s.navigate(PageProduct, pos, false)
			return
		case x < 0.9:
			s.click(tCTA)
		default:
			s.click(tNavShop)
		}
		s.navigate(PageSearch, -1, false)
		s.wait(s.logn(3000, 0.6))
	case PageProduct:
		if r.Float64() < 0.7 {
			pos := r.IntN(4)
			c := gRelated.card(pos, relatedOf[s.pg.product][pos], s.g.cards)
			s.scrollTo(0.7 + 0.3*r.Float64())
			s.click(&c)
			s.navigate(PageProduct, relatedOf[s.pg.product][pos], false)
			return
		}
		s.click(tNavShop)
		s.navigate(PageSearch, -1, false)
		s.wait(s.logn(3000, 0.6))
	case PagePost:
		s.scrollTo(0.5)
		s.click(inlineProduct[s.pg.product])
		s.navigate(PageProduct, postProduct[s.pg.product], false)
		return
	case PageSearch:
	default:
		s.click(tNavShop)
		s.navigate(PageSearch, -1, false)
		s.wait(s.logn(3000, 0.6))
	}
	// On a search page: open one of the results, the top ones more often.
	if len(s.pg.results) == 0 {
		s.click(tLogo)
		s.navigate(PageLanding, -1, false)
		s.wait(s.logn(2000, 0.5))
		s.toProduct()
		return
	}
	pos := min(s.geometric(0.45, gResults.max-1), len(s.pg.results)-1)
	c := gResults.card(pos, s.pg.results[pos], s.g.cards)
	if pos >= 3 {
		s.scrollTo(float64(pos/3*420+600) / float64(s.pg.docH))
	}
	s.click(&c)
	s.navigate(PageProduct, s.pg.results[pos], false)
}

var featuredCDF = zipfCDF(6, 0.8)

// search types a query into the header's search box and submits it.
func (s *sess) search(q *searchQuery) {
	r := s.r
	s.click(tSearchInput)
	s.wait(1500 + s.logn(2000, 0.5))
	s.change(tSearchInput)
	if r.Float64() < 0.5 {
		s.click(tSearchButton)
	}
	s.submit(tSearchForm)
	i := s.track("search")
	s.pBegin()
	s.pStr("query", q.q)
	s.pInt("results", int64(q.results))
	s.pEnd(i)
	s.navigateSearch(q)
}

// quickback sometimes sends the visitor straight back from the page just
// opened, as Clarity's "quick back" describes. It reports whether it did.
func (s *sess) quickback() bool {
	if s.prev.url == "" || s.r.Float64() >= 0.08 {
		return false
	}
	s.wait(800 + s.r.Int64N(2700))
	i := s.ev("$quickback")
	s.pBegin()
	s.pInt("$time_on_page_ms", s.t-s.pg.start)
	s.pEnd(i)
	prev := s.prev
	s.wait(20 + s.r.Int64N(60))
	s.leave()
	s.wait(150 + s.r.Int64N(500))
	ref := s.pg.url
	s.prev = s.pg
	s.pg = prev
	s.pg.ref, s.pg.start, s.pg.bottom = ref, s.t, 0
	s.pageview(false)
	s.wait(s.logn(1500, 0.5))
	return true
}

func (s *sess) maybeLogin() {
	if !s.loginPending {
		return
	}
	s.loginPending = false
	s.wait(s.logn(2000, 0.5))
	s.click(tAccountLink)
	s.navigate(PageAccount, -1, false)
	s.wait(s.logn(2500, 0.5))
	s.typeInto(tLoginEmail)
	s.wait(s.logn(3000, 0.5)) // password, never reported
	s.click(tLoginSubmit)
	s.submit(tLoginForm)
	v := &s.g.visitors[s.vi]
	s.identify(v.user, false)
	if s.distinct == v.user && s.dev == &humanDevices[v.dev] {
		v.loggedIn = true
	}
	s.wait(s.logn(3000, 0.5))
}

func (s *sess) logout() {
	s.wait(s.logn(2000, 0.5))
	s.click(tAccountLink)
	s.navigate(PageAccount, -1, false)
	s.wait(s.logn(3000, 0.5))
	s.click(tLogout)
	v := &s.g.visitors[s.vi]
	v.loggedIn = false
	// reset() gives the browser a fresh anonymous id.
	v.anon = uuidV7(s.t, s.r)
}

// signUp creates an account for the session's visitor and identifies them.
func (s *sess) signUp(plan, source string) {
	v := &s.g.visitors[s.vi]
	var b [16]byte
	id := append(b[:0], "user_"...)
	x := s.r.Uint64()
	for range 10 {
		id = append(id, hexDigits[x&0xf])
		x >>= 4
	}
	v.user = string(id)
	for i, p := range plans {
		if p == plan {
			v.plan = uint8(i)
			break
		}
	}
	s.g.identified++
	s.identify(v.user, true)
	if s.dev == &humanDevices[v.dev] {
		v.loggedIn = true
	}
	i := s.track("signup")
	s.pBegin()
	s.pStr("plan", plan)
	s.pStr("method", "email")
	s.pStr("source", source)
	s.pEnd(i)
}

// identify switches the session to the user id, as the SDK's identify()
// does, with traits that describe the person but never contain an address.
func (s *sess) identify(user string, signup bool) {
	v := &s.g.visitors[s.vi]
	anon := s.distinct
	s.distinct = user
	i := s.ev("$identify")
	s.pBegin()
	s.pStr("$anon_distinct_id", anon)
	s.pKey("$set")
	s.pObj()
	s.pStr("plan", plans[v.plan])
	s.pStr("email_domain", emailDomains[v.domain])
	s.pStr("country", countries[v.country])
	s.pObjEnd()
	if signup {
		s.pKey("$set_once")
		s.pObj()
		s.pStr("signup_date", timeDate(s.t))
		s.pObjEnd()
	}
	s.pEnd(i)
}

func timeDate(ms int64) string {
	days := ms / 86_400_000
	y, m, d := civil(days)
	b := make([]byte, 0, 10)
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
	return string(b)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm), avoiding time.Time in the hot path.
func civil(z int64) (int, int, int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

// ---- navigation ----

func (s *sess) pickSource(table []weightedSource, returning bool) source {
	if returning && s.r.Float64() < 0.4 {
		return srcDirect
	}
	return pickSourceFrom(s.r, table)
}

func pickSourceFrom(r *rand.Rand, table []weightedSource) source {
	total := 0.0
	for _, w := range table {
		total += w.w
	}
	u := r.Float64() * total
	for _, w := range table {
		if u -= w.w; u < 0 {
			return w.s
		}
	}
	return table[0].s
}

// enter opens the session's first page, with the source's referrer and UTM
// tags.
func (s *sess) enter(src source, kind string, idx int) {
	s.open(kind, idx, src.referrer, false)
	if src.utm != "" {
		sep := "?"
		for i := 0; i < len(s.pg.url); i++ {
			if s.pg.url[i] == '?' {
				sep = "&"
				break
			}
		}
		s.pg.url += sep + src.utm
		s.raws[len(s.raws)-1].URL = s.pg.url
	}
}

// navigate leaves the current page and opens the next; spa navigations
// (pushState) skip the page load.
func (s *sess) navigate(kind string, idx int, spa bool) {
	s.wait(20 + s.r.Int64N(80))
	s.leave()
	if spa {
		s.wait(10 + s.r.Int64N(50))
	} else {
		s.wait(s.logn(600, 0.6))
	}
	ref := s.pg.url
	s.prev = s.pg
	s.open(kind, idx, ref, spa)
}

func (s *sess) navigateSearch(q *searchQuery) {
	s.wait(20 + s.r.Int64N(80))
	s.leave()
	s.wait(s.logn(500, 0.6))
	ref := s.pg.url
	s.prev = s.pg
	s.setPage(PageSearch, ref)
	s.pg.url = s.g.url(q.path)
	s.pg.title = "Search: " + q.q + " — " + shopName
	s.pg.query = q
	s.pg.results = q.matches
	s.pageview(false)
}

// open starts a page: idx is the product or post index, the category filter
// (1-based) on search pages, or the plan on the signup page.
func (s *sess) open(kind string, idx int, ref string, spa bool) {
	s.setPage(kind, ref)
	g := s.g
	switch kind {
	case PageProduct:
		s.pg.product = idx
		s.pg.url = g.productURL[idx]
		s.pg.title = productTitle[idx]
	case PagePost:
		s.pg.product = idx
		s.pg.url = g.postURL[idx]
		s.pg.title = postTitle[idx]
	case PageSearch:
		s.pg.url = g.pageURL[kind]
		s.pg.results = allProducts
		if idx > 0 {
			s.pg.url = g.categoryURL[idx-1]
			s.pg.results = productsIn[idx-1]
		}
	case PageSignup:
		s.pg.url = g.pageURL[kind]
		if idx >= 0 {
			s.pg.url = g.signupURL[idx]
		}
	default:
		s.pg.url = g.pageURL[kind]
	}
	s.pageview(spa)
}

func (s *sess) setPage(kind, ref string) {
	h := docHeights[kind]
	docH := h[0]
	if s.mobile {
		docH = h[1]
	}
	s.pg = page{kind: kind, ref: ref, docH: docH, start: s.t, title: pageTitles[kind], product: -1}
}

var allProducts = func() []int {
	out := make([]int, len(products))
	for i := range out {
		out[i] = i
	}
	return out
}()

var productsIn = func() [][]int {
	out := make([][]int, len(categories))
	for i, c := range categories {
		for j, p := range products {
			if p.Category == c {
				out[i] = append(out[i], j)
			}
		}
	}
	return out
}()

func (s *sess) pageview(spa bool) {
	i := s.ev("$pageview")
	s.sizes(&s.raws[i])
	if spa {
		s.pBegin()
		s.pBool("$spa", true)
		s.pEnd(i)
	}
}

func (s *sess) leave() {
	if s.pg.url == "" || s.noLeave {
		return
	}
	i := s.ev("$pageleave")
	s.sizes(&s.raws[i])
	bottom := math.Max(s.pg.bottom, float64(s.vh))
	depth := min(100, int(math.Round(100*bottom/float64(s.pg.docH))))
	s.pBegin()
	s.pInt("$time_on_page_ms", s.t-s.pg.start)
	s.pInt("$max_scroll_pct", int64(depth))
	s.pEnd(i)
}
