// Package apptest is a fake Shopify for tests: one shop's OAuth endpoints
// and the part of the GraphQL Admin API that package app uses, served over
// HTTP on loopback. Point app.Config.BaseURL (CARTBACK_SHOPIFY_BASE_URL)
// at Server.URL.
//
// It answers GraphQL by looking at the query text, not by parsing it, so
// it only knows the operations package app sends: webhookSubscriptions,
// webhookSubscriptionCreate, abandonedCheckouts, orders (by checkout
// token), shop (name, time zone, country), discountCodeBasicCreate and
// appUninstall.
package apptest

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cartback/cartback/adapters/shopify/app"
)

// Defaults of a new Server.
const (
	DefaultShop         = "demo-shop.myshopify.com"
	DefaultClientID     = "test-client-id"
	DefaultClientSecret = "test-client-secret"
	DefaultShopName     = "Demo Shop"
	DefaultTimeZone     = "America/New_York"
	DefaultCountry      = "US"
	// AccessTokenTTL and RefreshTokenTTL are Shopify's lifetimes of
	// expiring offline tokens.
	AccessTokenTTL  = time.Hour
	RefreshTokenTTL = 90 * 24 * time.Hour
)

// Server is a running fake Shopify. Its methods are safe for concurrent
// use.
type Server struct {
	*httptest.Server
	// Shop, ClientID and ClientSecret are fixed at creation.
	Shop, ClientID, ClientSecret string
	// AccessTTL is the lifetime of the access tokens it issues
	// (AccessTokenTTL unless a test shortens it before installing).
	AccessTTL time.Duration
	// ShopName, TimeZone and Country are the shop's settings the shop
	// query answers (DefaultShopName, DefaultTimeZone, DefaultCountry).
	ShopName, TimeZone, Country string

	mu       sync.Mutex
	now      func() time.Time
	seq      int64
	codes    map[string]string // authorization code → granted scopes
	access   map[string]time.Time
	refresh  map[string]*refreshToken
	webhooks []Webhook
	// uninstalled: the app removed itself with appUninstall.
	uninstalled bool
	// refused are the topics it answers a userError for, as Shopify does
	// without protected customer data approval.
	refused   map[string]bool
	checkouts []*Checkout
	orders    []Order
	discounts []Discount
	throttle  int
	requests  []Request
}

// refreshToken is the fake's record of one refresh token. As Shopify
// does, a used refresh token stays usable until its replacement is used:
// that lets an app recover when it lost a refresh response.
type refreshToken struct {
	expires  time.Time
	scopes   string
	previous string
	retired  bool
}

// Request is one request the fake answered.
type Request struct {
	// Kind is "authorize", "token" or "graphql".
	Kind string
	// Operation is the GraphQL field answered (such as
	// "webhookSubscriptionCreate"), or the token grant ("authorization_code",
	// "refresh_token").
	Operation string
	// Status is the HTTP status answered.
	Status int
	// Throttled says the answer was a THROTTLED error.
	Throttled bool
}

// Webhook is a webhook subscription created through the API.
type Webhook struct {
	ID     string
	Topic  string
	URI    string
	Format string
}

// Discount is a discount code created through the API, with the input as
// sent.
type Discount struct {
	ID    string
	Code  string
	Input map[string]any
}

// Order is an order the fake holds, linked to a checkout by its token.
type Order struct {
	ID            string
	Name          string
	CheckoutToken string
}

// LineItem is a line of a fake checkout.
type LineItem struct {
	Title, VariantTitle, SKU string
	Quantity                 int
	// Price is the unit price, a decimal string.
	Price                string
	ProductID, VariantID int64
	ImageURL             string
	Attributes           map[string]string
}

// Checkout is an abandoned checkout of the fake shop. Zero fields get
// defaults when added: an id, a token, USD, and the current time.
type Checkout struct {
	ID    int64
	Token string
	Name  string

	Email, Phone, FirstName, LastName, Locale, Country string
	// EmailMarketing and SMSMarketing are the customer's standing consent.
	EmailMarketing, SMSMarketing bool

	Currency                       string
	Items                          []LineItem
	Subtotal, Discount, Tax, Total string

	CreatedAt, UpdatedAt time.Time
	CompletedAt          *time.Time
}

// NewServer starts a fake Shopify on loopback. Close it when done.
func NewServer() *Server {
	s := &Server{
		Shop:         DefaultShop,
		ClientID:     DefaultClientID,
		ClientSecret: DefaultClientSecret,
		ShopName:     DefaultShopName,
		TimeZone:     DefaultTimeZone,
		Country:      DefaultCountry,
		now:          time.Now,
		codes:        map[string]string{},
		access:       map[string]time.Time{},
		refresh:      map[string]*refreshToken{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /admin/oauth/access_token", s.handleToken)
	mux.HandleFunc("POST /admin/api/"+app.APIVersion+"/graphql.json", s.handleGraphQL)
	s.Server = httptest.NewServer(mux)
	return s
}

// SetClock makes the fake read the time from now, to test expiry.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// IssueCode returns a fresh single-use authorization code granting
// app.DefaultScopes, as if the merchant had approved the install.
func (s *Server) IssueCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := randomHex(16)
	s.codes[code] = strings.Join(app.DefaultScopes, ",")
	return code
}

// Throttle makes the next n GraphQL requests answer with a THROTTLED error
// whose throttleStatus asks for a wait of 50 ms.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// RefuseTopics makes webhook subscriptions to topics fail as Shopify's do
// for an app without protected customer data approval; none refuses them
// again.
func (s *Server) RefuseTopics(topics ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused = map[string]bool{}
	for _, t := range topics {
		s.refused[t] = true
	}
}

// Uninstalled reports whether the app uninstalled itself (appUninstall).
func (s *Server) Uninstalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uninstalled
}

// RevokeTokens invalidates every access and refresh token, as an
// uninstall does.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
	clear(s.refresh)
}

// AddCheckout adds an abandoned checkout and returns it with its defaults
// filled in.
func (s *Server) AddCheckout(c Checkout) Checkout {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if c.ID == 0 {
		c.ID = 1000 + s.seq
	}
	if c.Token == "" {
		c.Token = randomHex(16)
	}
	if c.Name == "" {
		c.Name = "#" + strconv.FormatInt(c.ID, 10)
	}
	if c.Currency == "" {
		c.Currency = "USD"
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now().UTC().Truncate(time.Second)
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	cp := c
	s.checkouts = append(s.checkouts, &cp)
	slices.SortFunc(s.checkouts, func(a, b *Checkout) int { return cmp.Compare(a.ID, b.ID) })
	return c
}

// CompleteCheckout turns the checkout with token into an order: the
// checkout gets a completedAt, and orders find it by checkout token. It
// returns the order's id, or "" when no checkout has that token.
func (s *Server) CompleteCheckout(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.checkouts {
		if c.Token != token {
			continue
		}
		now := s.now().UTC().Truncate(time.Second)
		c.CompletedAt, c.UpdatedAt = &now, now
		s.seq++
		o := Order{ID: fmt.Sprintf("gid://shopify/Order/%d", 5000+s.seq), Name: fmt.Sprintf("#%d", 1000+s.seq), CheckoutToken: token}
		s.orders = append(s.orders, o)
		return o.ID
	}
	return ""
}

// Webhooks returns the webhook subscriptions created.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.webhooks)
}

// Discounts returns the discount codes created.
func (s *Server) Discounts() []Discount {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.discounts)
}

// Requests returns every request answered, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls counts the requests answered for a GraphQL operation or token
// grant (see Request.Operation), throttled ones included.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Operation == operation {
			n++
		}
	}
	return n
}

// handleAuthorize plays the merchant approving the install: it redirects
// to redirect_uri with a code and a signed query, as Shopify does.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("client_id") != s.ClientID || err != nil || redirect.Scheme == "" {
		s.record(Request{Kind: "authorize", Status: http.StatusBadRequest})
		http.Error(w, "unknown client_id or bad redirect_uri", http.StatusBadRequest)
		return
	}
	code := randomHex(16)
	s.codes[code] = q.Get("scope")
	back := url.Values{
		"code":      {code},
		"host":      {base64.RawURLEncoding.EncodeToString([]byte("admin.shopify.com/store/" + strings.TrimSuffix(s.Shop, ".myshopify.com")))},
		"shop":      {s.Shop},
		"state":     {q.Get("state")},
		"timestamp": {strconv.FormatInt(s.now().Unix(), 10)},
	}
	back.Set("hmac", app.SignQuery(back, s.ClientSecret))
	redirect.RawQuery = back.Encode()
	s.record(Request{Kind: "authorize", Status: http.StatusFound})
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// handleToken exchanges codes and refresh tokens.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	params, err := readParams(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(status int, code, description string) {
		s.record(Request{Kind: "token", Operation: params["grant_type"], Status: status})
		writeJSON(w, status, map[string]any{"error": code, "error_description": description})
	}
	if err != nil {
		fail(http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if params["client_id"] != s.ClientID || params["client_secret"] != s.ClientSecret {
		fail(http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	now := s.now()
	var scopes, previous string
	expiring := true
	switch params["grant_type"] {
	case "refresh_token":
		old, ok := s.refresh[params["refresh_token"]]
		if !ok || old.retired || !now.Before(old.expires) {
			fail(http.StatusBadRequest, "invalid_grant", "refresh token is invalid, expired or already rotated")
			return
		}
		// Using a replacement retires the token it replaced.
		if p, ok := s.refresh[old.previous]; ok {
			p.retired = true
		}
		scopes, previous = old.scopes, params["refresh_token"]
	case "", "authorization_code":
		params["grant_type"] = "authorization_code"
		granted, ok := s.codes[params["code"]]
		if !ok {
			fail(http.StatusBadRequest, "invalid_grant", "authorization code is invalid or was already used")
			return
		}
		delete(s.codes, params["code"])
		scopes = granted
		expiring = params["expiring"] == "1"
	default:
		fail(http.StatusBadRequest, "unsupported_grant_type", params["grant_type"])
		return
	}

	access := "shpat_" + randomHex(16)
	resp := map[string]any{"access_token": access, "scope": scopes}
	if !expiring {
		s.access[access] = time.Time{}
	} else {
		refresh := "shprt_" + randomHex(16)
		ttl := s.AccessTTL
		if ttl <= 0 {
			ttl = AccessTokenTTL
		}
		s.access[access] = now.Add(ttl)
		s.refresh[refresh] = &refreshToken{expires: now.Add(RefreshTokenTTL), scopes: scopes, previous: previous}
		resp["expires_in"] = int(ttl / time.Second)
		resp["refresh_token"] = refresh
		resp["refresh_token_expires_in"] = int(RefreshTokenTTL / time.Second)
	}
	s.record(Request{Kind: "token", Operation: params["grant_type"], Status: http.StatusOK})
	writeJSON(w, http.StatusOK, resp)
}

// readParams reads a token request's JSON or form body into strings.
func readParams(r *http.Request) (map[string]string, error) {
	params := map[string]string{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var raw map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&raw); err != nil {
			return params, fmt.Errorf("bad JSON body: %v", err)
		}
		for k, v := range raw {
			params[k] = fmt.Sprint(v)
		}
		return params, nil
	}
	if err := r.ParseForm(); err != nil {
		return params, err
	}
	for k := range r.PostForm {
		params[k] = r.PostForm.Get(k)
	}
	return params, nil
}

// graphQLRequest is a GraphQL request body.
type graphQLRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

// handleGraphQL answers the Admin API operations package app sends.
func (s *Server) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	var req graphQLRequest
	decodeErr := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()

	expires, ok := s.access[r.Header.Get("X-Shopify-Access-Token")]
	if !ok || (!expires.IsZero() && !s.now().Before(expires)) {
		s.record(Request{Kind: "graphql", Status: http.StatusUnauthorized})
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	if decodeErr != nil {
		s.record(Request{Kind: "graphql", Status: http.StatusBadRequest})
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": "bad request body: " + decodeErr.Error()})
		return
	}
	op := operation(req.Query)
	if s.throttle > 0 {
		s.throttle--
		s.record(Request{Kind: "graphql", Operation: op, Status: http.StatusOK, Throttled: true})
		writeJSON(w, http.StatusOK, map[string]any{
			"errors": []any{map[string]any{
				"message":    "Throttled",
				"extensions": map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
			}},
			"extensions": map[string]any{"cost": map[string]any{
				"requestedQueryCost": 60,
				"actualQueryCost":    nil,
				"throttleStatus":     map[string]any{"maximumAvailable": 2000.0, "currentlyAvailable": 10, "restoreRate": 1000.0},
			}},
		})
		return
	}

	var data any
	switch op {
	case "webhookSubscriptionCreate":
		data = s.createWebhook(req.Variables)
	case "webhookSubscriptions":
		data = s.listWebhooks(req.Variables)
	case "discountCodeBasicCreate":
		data = s.createDiscount(req.Variables)
	case "shop":
		data = map[string]any{"shop": map[string]any{
			"name": s.ShopName, "ianaTimezone": s.TimeZone,
			"billingAddress": map[string]any{"countryCodeV2": s.Country},
		}}
	case "appUninstall":
		// As Shopify does: the tokens stop working, the subscriptions go.
		s.uninstalled = true
		clear(s.access)
		clear(s.refresh)
		s.webhooks = nil
		data = map[string]any{"appUninstall": map[string]any{"app": map[string]any{"id": "gid://shopify/App/1"}, "userErrors": []any{}}}
	case "abandonedCheckouts":
		var err error
		if data, err = s.listCheckouts(req.Variables); err != nil {
			s.record(Request{Kind: "graphql", Operation: op, Status: http.StatusOK})
			writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": err.Error()}}})
			return
		}
	case "orders":
		data = s.findOrder(req.Variables)
	default:
		s.record(Request{Kind: "graphql", Operation: op, Status: http.StatusOK})
		writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "fake shopify does not know this operation"}}})
		return
	}
	s.record(Request{Kind: "graphql", Operation: op, Status: http.StatusOK})
	writeJSON(w, http.StatusOK, map[string]any{
		"data": data,
		"extensions": map[string]any{"cost": map[string]any{
			"requestedQueryCost": 10, "actualQueryCost": 5,
			"throttleStatus": map[string]any{"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0},
		}},
	})
}

// operation names the top-level field a query asks for. Mutations are
// matched first: their text also names the fields they return.
func operation(query string) string {
	for _, op := range []string{"webhookSubscriptionCreate", "discountCodeBasicCreate", "webhookSubscriptions", "abandonedCheckouts"} {
		if strings.Contains(query, op+"(") {
			return op
		}
	}
	if strings.Contains(query, "appUninstall {") { // it takes no arguments
		return "appUninstall"
	}
	if strings.Contains(query, "ianaTimezone") {
		return "shop"
	}
	if strings.Contains(query, "orders(") {
		return "orders"
	}
	return "unknown"
}

var webhookTopics = map[string]bool{
	"CHECKOUTS_CREATE": true, "CHECKOUTS_UPDATE": true, "CHECKOUTS_DELETE": true,
	"ORDERS_CREATE": true, "ORDERS_PAID": true, "APP_UNINSTALLED": true,
}

func (s *Server) createWebhook(vars map[string]any) any {
	topic, _ := vars["topic"].(string)
	input, _ := vars["webhookSubscription"].(map[string]any)
	uri, _ := input["uri"].(string)
	if uri == "" {
		uri, _ = input["callbackUrl"].(string)
	}
	format, _ := input["format"].(string)
	userErrors := []any{}
	switch {
	case !webhookTopics[topic]:
		userErrors = append(userErrors, userError([]string{"topic"}, "", "Topic is not valid"))
	case s.refused[topic]:
		userErrors = append(userErrors, userError([]string{"topic"}, "", "This app is not approved to subscribe to webhook topics containing protected customer data."))
	case uri == "":
		userErrors = append(userErrors, userError([]string{"webhookSubscription", "uri"}, "", "URI can't be blank"))
	}
	for _, w := range s.webhooks {
		if w.Topic == topic && w.URI == uri {
			userErrors = append(userErrors, userError([]string{"webhookSubscription", "uri"}, "", "Address for this topic has already been taken"))
		}
	}
	if len(userErrors) > 0 {
		return map[string]any{"webhookSubscriptionCreate": map[string]any{"webhookSubscription": nil, "userErrors": userErrors}}
	}
	s.seq++
	wh := Webhook{ID: fmt.Sprintf("gid://shopify/WebhookSubscription/%d", s.seq), Topic: topic, URI: uri, Format: format}
	s.webhooks = append(s.webhooks, wh)
	return map[string]any{"webhookSubscriptionCreate": map[string]any{"webhookSubscription": webhookNode(wh), "userErrors": userErrors}}
}

func webhookNode(w Webhook) map[string]any {
	return map[string]any{
		"id": w.ID, "topic": w.Topic, "uri": w.URI,
		"endpoint": map[string]any{"__typename": "WebhookHttpEndpoint", "callbackUrl": w.URI},
	}
}

func (s *Server) listWebhooks(vars map[string]any) any {
	first, start := pageArgs(vars)
	nodes := []any{}
	end := min(start+first, len(s.webhooks))
	for _, w := range s.webhooks[start:end] {
		nodes = append(nodes, webhookNode(w))
	}
	return map[string]any{"webhookSubscriptions": map[string]any{"nodes": nodes, "pageInfo": pageInfo(end, len(s.webhooks))}}
}

func (s *Server) createDiscount(vars map[string]any) any {
	input, _ := vars["basicCodeDiscount"].(map[string]any)
	code, _ := input["code"].(string)
	title, _ := input["title"].(string)
	gets, _ := input["customerGets"].(map[string]any)
	value, _ := gets["value"].(map[string]any)
	userErrors := []any{}
	if code == "" {
		userErrors = append(userErrors, userError([]string{"basicCodeDiscount", "code"}, "BLANK", "Code can't be blank"))
	}
	if title == "" {
		userErrors = append(userErrors, userError([]string{"basicCodeDiscount", "title"}, "BLANK", "Title can't be blank"))
	}
	if input["context"] == nil && input["customerSelection"] == nil {
		userErrors = append(userErrors, userError([]string{"basicCodeDiscount", "context"}, "BLANK", "Context can't be blank"))
	}
	if p, ok := value["percentage"].(float64); ok {
		if p <= 0 || p > 1 {
			userErrors = append(userErrors, userError([]string{"basicCodeDiscount", "customerGets", "value", "percentage"}, "VALUE_OUTSIDE_RANGE", "Value must be between 0.0 and 1.0"))
		}
	} else if value["discountAmount"] == nil {
		userErrors = append(userErrors, userError([]string{"basicCodeDiscount", "customerGets", "value"}, "BLANK", "Value can't be blank"))
	}
	for _, d := range s.discounts {
		if strings.EqualFold(d.Code, code) {
			userErrors = append(userErrors, userError([]string{"basicCodeDiscount", "code"}, "TAKEN", "Code must be unique. Please try a different code."))
		}
	}
	if len(userErrors) > 0 {
		return map[string]any{"discountCodeBasicCreate": map[string]any{"codeDiscountNode": nil, "userErrors": userErrors}}
	}
	s.seq++
	d := Discount{ID: fmt.Sprintf("gid://shopify/DiscountCodeNode/%d", s.seq), Code: code, Input: input}
	s.discounts = append(s.discounts, d)
	return map[string]any{"discountCodeBasicCreate": map[string]any{
		"codeDiscountNode": map[string]any{
			"id":           d.ID,
			"codeDiscount": map[string]any{"codes": map[string]any{"nodes": []any{map[string]any{"code": code}}}},
		},
		"userErrors": userErrors,
	}}
}

var updatedAtFilter = regexp.MustCompile(`updated_at:(>=|>)'([^']+)'`)

func (s *Server) listCheckouts(vars map[string]any) (any, error) {
	first, start := pageArgs(vars)
	query, _ := vars["query"].(string)
	var matches []*Checkout
	m := updatedAtFilter.FindStringSubmatch(query)
	var since time.Time
	if m != nil {
		var err error
		if since, err = time.Parse(time.RFC3339, m[2]); err != nil {
			return nil, fmt.Errorf("invalid updated_at in query %q", query)
		}
	}
	for _, c := range s.checkouts {
		if m != nil && (c.UpdatedAt.Before(since) || (m[1] == ">" && c.UpdatedAt.Equal(since))) {
			continue
		}
		matches = append(matches, c)
	}
	end := min(start+first, len(matches))
	nodes := []any{}
	if start < end {
		for _, c := range matches[start:end] {
			nodes = append(nodes, checkoutNode(c))
		}
	}
	return map[string]any{"abandonedCheckouts": map[string]any{"nodes": nodes, "pageInfo": pageInfo(end, len(matches))}}, nil
}

func checkoutNode(c *Checkout) map[string]any {
	money := func(amount string) map[string]any {
		if amount == "" {
			amount = "0.00"
		}
		m := map[string]any{"amount": amount, "currencyCode": c.Currency}
		return map[string]any{"shopMoney": m, "presentmentMoney": m}
	}
	items := []any{}
	for i, li := range c.Items {
		attrs := []any{}
		for _, k := range slices.Sorted(maps.Keys(li.Attributes)) {
			attrs = append(attrs, map[string]any{"key": k, "value": li.Attributes[k]})
		}
		item := map[string]any{
			"id":                   fmt.Sprintf("gid://shopify/AbandonedCheckoutLineItem/%d%02d", c.ID, i),
			"title":                li.Title,
			"variantTitle":         li.VariantTitle,
			"sku":                  li.SKU,
			"quantity":             li.Quantity,
			"originalUnitPriceSet": money(li.Price),
			"product":              nil,
			"variant":              nil,
			"image":                nil,
			"customAttributes":     attrs,
		}
		if li.ProductID != 0 {
			item["product"] = map[string]any{"id": fmt.Sprintf("gid://shopify/Product/%d", li.ProductID)}
		}
		if li.VariantID != 0 {
			item["variant"] = map[string]any{"id": fmt.Sprintf("gid://shopify/ProductVariant/%d", li.VariantID)}
		}
		if li.ImageURL != "" {
			item["image"] = map[string]any{"url": li.ImageURL}
		}
		items = append(items, item)
	}
	node := map[string]any{
		"id":                   fmt.Sprintf("gid://shopify/AbandonedCheckout/%d", c.ID),
		"name":                 c.Name,
		"abandonedCheckoutUrl": fmt.Sprintf("https://%s/548380009/checkouts/%s/recover?key=%s", DefaultShop, c.Token, randomHex(8)),
		"createdAt":            c.CreatedAt.UTC().Format(time.RFC3339),
		"updatedAt":            c.UpdatedAt.UTC().Format(time.RFC3339),
		"completedAt":          nil,
		"taxesIncluded":        false,
		"customer":             nil,
		"billingAddress":       nil,
		"lineItems":            map[string]any{"nodes": items},
		"subtotalPriceSet":     money(c.Subtotal),
		"totalDiscountSet":     money(c.Discount),
		"totalTaxSet":          money(c.Tax),
		"totalPriceSet":        money(c.Total),
	}
	if c.CompletedAt != nil {
		node["completedAt"] = c.CompletedAt.UTC().Format(time.RFC3339)
	}
	if c.Email != "" || c.Phone != "" || c.FirstName != "" || c.LastName != "" {
		state := func(subscribed bool) string {
			if subscribed {
				return "SUBSCRIBED"
			}
			return "NOT_SUBSCRIBED"
		}
		customer := map[string]any{
			"firstName": c.FirstName, "lastName": c.LastName, "locale": c.Locale,
			"defaultEmailAddress": nil, "defaultPhoneNumber": nil,
		}
		if c.Email != "" {
			customer["defaultEmailAddress"] = map[string]any{"emailAddress": c.Email, "marketingState": state(c.EmailMarketing)}
		}
		if c.Phone != "" {
			customer["defaultPhoneNumber"] = map[string]any{"phoneNumber": c.Phone, "marketingState": state(c.SMSMarketing)}
		}
		node["customer"] = customer
	}
	if c.Country != "" {
		node["billingAddress"] = map[string]any{"firstName": c.FirstName, "lastName": c.LastName, "phone": nil, "countryCodeV2": c.Country}
	}
	return node
}

var checkoutTokenFilter = regexp.MustCompile(`checkout_token:['"]?([A-Za-z0-9_-]+)`)

func (s *Server) findOrder(vars map[string]any) any {
	query, _ := vars["query"].(string)
	nodes := []any{}
	if m := checkoutTokenFilter.FindStringSubmatch(query); m != nil {
		for _, o := range s.orders {
			if o.CheckoutToken == m[1] {
				nodes = append(nodes, map[string]any{"id": o.ID, "name": o.Name, "checkoutToken": o.CheckoutToken})
				break
			}
		}
	}
	return map[string]any{"orders": map[string]any{"nodes": nodes}}
}

// pageArgs reads first and after; the fake's cursors are offsets.
func pageArgs(vars map[string]any) (first, start int) {
	first = 50
	if f, ok := vars["first"].(float64); ok && f > 0 {
		first = int(f)
	}
	if after, ok := vars["after"].(string); ok && after != "" {
		if b, err := base64.RawURLEncoding.DecodeString(after); err == nil {
			start, _ = strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		}
	}
	return first, start
}

func pageInfo(end, total int) map[string]any {
	return map[string]any{
		"hasNextPage": end < total,
		"endCursor":   base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end))),
	}
}

func userError(field []string, code, message string) map[string]any {
	e := map[string]any{"field": field, "message": message}
	if code != "" {
		e["code"] = code
	}
	return e
}

func (s *Server) record(r Request) { s.requests = append(s.requests, r) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
