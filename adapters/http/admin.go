package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/recovery"
)

// shopView is a shop as the admin API shows it. Secrets appear only in the
// answers to the requests that created the shop or gave it a new secret.
type shopView struct {
	ID               uint64              `json:"id"`
	Platform         recovery.Platform   `json:"platform"`
	Domain           string              `json:"domain"`
	Name             string              `json:"name,omitempty"`
	Status           recovery.ShopStatus `json:"status"`
	WebhookSecret    string              `json:"webhook_secret,omitempty"`
	HasWebhookSecret bool                `json:"has_webhook_secret"`
	// AcceptsPreviousSecret is true during a secret rotation.
	AcceptsPreviousSecret bool                  `json:"accepts_previous_webhook_secret"`
	UsesShopifyAppSecret  bool                  `json:"uses_shopify_app_secret,omitempty"`
	Settings              recovery.ShopSettings `json:"settings"`
	CreatedAt             time.Time             `json:"created_at"`
	UpdatedAt             time.Time             `json:"updated_at"`
	UninstalledAt         time.Time             `json:"uninstalled_at,omitzero"`
	// ShopifyApp describes an install through the Shopify app, without
	// its token.
	ShopifyApp *shopifyView `json:"shopify_app,omitempty"`
}

// shopifyView shows a Shopify app install without its token.
type shopifyView struct {
	InstalledAt    time.Time `json:"installed_at"`
	TokenExpiresAt time.Time `json:"token_expires_at,omitzero"`
	NeedsReinstall bool      `json:"needs_reinstall"`
	Problem        string    `json:"problem,omitempty"`
	SyncedUntil    time.Time `json:"synced_until,omitzero"`
}

func newShopView(s *recovery.Shop, withSecret bool) shopView {
	v := shopView{
		ID: s.ID, Platform: s.Platform, Domain: s.Domain, Name: s.Name, Status: s.Status,
		HasWebhookSecret:      s.WebhookSecret != "",
		AcceptsPreviousSecret: s.PreviousWebhookSecret != "",
		UsesShopifyAppSecret:  s.UsesShopifyAppSecret(),
		Settings:              s.Settings, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, UninstalledAt: s.UninstalledAt,
	}
	if withSecret {
		v.WebhookSecret = s.WebhookSecret
	}
	if a := s.Shopify; a != nil {
		v.ShopifyApp = &shopifyView{InstalledAt: a.InstalledAt, TokenExpiresAt: a.ExpiresAt, NeedsReinstall: a.NeedsReinstall, Problem: a.Problem, SyncedUntil: a.SyncedUntil}
	}
	return v
}

// createShopRequest is the body of POST /admin/api/shops.
type createShopRequest struct {
	Platform      recovery.Platform     `json:"platform"`
	Domain        string                `json:"domain"`
	Name          string                `json:"name"`
	WebhookSecret string                `json:"webhook_secret"`
	Settings      recovery.ShopSettings `json:"settings"`
}

// decodeJSON reads a JSON body strictly: unknown fields and trailing data
// are errors, and the message names what was wrong.
func decodeJSON(c *echo.Context, v any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return recovery.Errorf(recovery.EINVALID, "invalid JSON body: %s", jsonErrorReason(err))
	}
	if dec.More() {
		return recovery.Errorf(recovery.EINVALID, "invalid JSON body: data after the object")
	}
	return nil
}

func jsonErrorReason(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Type == reflect.TypeFor[recovery.Duration]():
		return fmt.Sprintf("%s: %s is not a duration such as \"15m\" or \"24h\"", typeErr.Field, typeErr.Value)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("%s: must be %s", typeErr.Field, typeErr.Type)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("%s at offset %d", syntaxErr, syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	return err.Error()
}

func (s *Server) handleCreateShop(c *echo.Context) error {
	var req createShopRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	shop, err := s.Service.CreateShop(c.Request().Context(), &recovery.Shop{
		Platform: req.Platform, Domain: req.Domain, Name: req.Name,
		WebhookSecret: req.WebhookSecret, Settings: req.Settings,
	})
	if err != nil {
		return err
	}
	s.Logger.Info("shop created", "shop", shop.Domain, "platform", shop.Platform)
	return c.JSON(http.StatusCreated, newShopView(shop, true))
}

func (s *Server) handleListShops(c *echo.Context) error {
	shops, err := s.Service.Shops(c.Request().Context())
	if err != nil {
		return err
	}
	views := make([]shopView, 0, len(shops))
	for _, sh := range shops {
		views = append(views, newShopView(sh, false))
	}
	return c.JSON(http.StatusOK, map[string]any{"shops": views})
}

func (s *Server) shopParam(c *echo.Context) (*recovery.Shop, error) {
	return s.Service.ShopByDomain(c.Request().Context(), c.Param("domain"))
}

func (s *Server) handleGetShop(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newShopView(shop, false))
}

// DefaultPageSize is the admin API's page size when none is asked for.
const DefaultPageSize = 50

func (s *Server) handleListCarts(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	limit, before, err := pageParams(c)
	if err != nil {
		return err
	}
	carts, err := s.Service.Carts(c.Request().Context(), shop.ID, before, int(limit))
	if err != nil {
		return err
	}
	resp := map[string]any{"carts": carts}
	if len(carts) == int(limit) {
		resp["next"] = fmt.Sprintf("/admin/api/shops/%s/carts?limit=%d&before=%d", shop.Domain, limit, carts[len(carts)-1].ID)
	}
	if carts == nil {
		resp["carts"] = []*recovery.Cart{}
	}
	return c.JSON(http.StatusOK, resp)
}

// pageParams reads ?limit= (default DefaultPageSize) and ?before= (an id).
func pageParams(c *echo.Context) (limit, before uint64, err error) {
	if limit, err = uintParam(c, "limit", DefaultPageSize); err != nil {
		return 0, 0, err
	} else if limit == 0 || limit > recovery.MaxPageSize {
		return 0, 0, recovery.Errorf(recovery.EINVALID, "limit: must be between 1 and %d", recovery.MaxPageSize)
	}
	before, err = uintParam(c, "before", 0)
	return limit, before, err
}

func uintParam(c *echo.Context, name string, def uint64) (uint64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, recovery.Errorf(recovery.EINVALID, "%s: must be a non-negative integer", name)
	}
	return n, nil
}

// cartTimeline is the shop's cart named by the :id parameter, with its
// messages and clicks.
func (s *Server) cartTimeline(c *echo.Context, shop *recovery.Shop) (*recovery.Cart, []*recovery.Message, []recovery.Click, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return nil, nil, nil, recovery.Errorf(recovery.ENOTFOUND, "cart %q not found", c.Param("id"))
	}
	return s.Service.CartTimeline(c.Request().Context(), shop.ID, id)
}

func (s *Server) handleGetCart(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	cart, msgs, clicks, err := s.cartTimeline(c, shop)
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []*recovery.Message{}
	}
	if clicks == nil {
		clicks = []recovery.Click{}
	}
	return c.JSON(http.StatusOK, struct {
		*recovery.Cart
		Messages []*recovery.Message `json:"messages"`
		Clicks   []recovery.Click    `json:"clicks"`
	}{cart, msgs, clicks})
}

func (s *Server) handlePutSettings(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	var settings recovery.ShopSettings
	if err := decodeJSON(c, &settings); err != nil {
		return err
	}
	// Without a sequence the stored one stays: it is edited through /sequence.
	shop, err = s.Service.UpdateSettings(c.Request().Context(), shop.ID, settings)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newShopView(shop, false))
}

// handlePatchShop changes what of a shop is not a setting: its name.
func (s *Server) handlePatchShop(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	var req struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Name != nil {
		if shop, err = s.Service.RenameShop(c.Request().Context(), shop.ID, *req.Name); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, newShopView(shop, false))
}

func (s *Server) handlePutStatus(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	var req struct {
		Status recovery.ShopStatus `json:"status"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	shop, err = s.Service.SetShopStatus(c.Request().Context(), shop.ID, req.Status)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newShopView(shop, false))
}

// erasedShopView is the answer to DELETE /admin/api/shops/{domain}: the
// tombstone, and whether cartback's app left the store.
type erasedShopView struct {
	shopView
	// AppUninstalled: the shop was installed through cartback's app, which
	// was removed from the store.
	AppUninstalled bool `json:"app_uninstalled"`
	// AppError: the app could not be removed; the merchant removes it in
	// the store's admin. The data is erased all the same.
	AppError string `json:"app_error,omitempty"`
}

// handleEraseShop erases a shop's data and leaves its tombstone; the
// domain can be connected again afterwards.
func (s *Server) handleEraseShop(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	erased, err := s.eraseShop(c, shop)
	if err != nil {
		return err
	}
	shop, err = s.shopParam(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, erasedShopView{shopView: newShopView(shop, false), AppUninstalled: erased.AppUninstalled, AppError: erased.AppError})
}

// eraseShop erases a shop for the API and the Settings page alike, and
// logs what became of the app.
func (s *Server) eraseShop(c *echo.Context, shop *recovery.Shop) (recovery.ShopErasure, error) {
	erased, err := s.Service.EraseShopAndApp(c.Request().Context(), shop.ID)
	if err != nil {
		return erased, err
	}
	if erased.AppError != "" {
		s.Logger.Warn("shop erased; the app could not be removed from the store", "shop", shop.Domain, "error", erased.AppError)
	} else {
		s.Logger.Info("shop erased", "shop", shop.Domain, "app_uninstalled", erased.AppUninstalled)
	}
	return erased, nil
}

// rotateSecretRequest is the body of POST
// /admin/api/shops/{domain}/webhook-secret.
type rotateSecretRequest struct {
	// WebhookSecret is the new secret; empty: generate one.
	WebhookSecret string `json:"webhook_secret"`
	// KeepPrevious keeps the old secret verifying until the rotation is
	// ended (default true); false stops it at once, for a leaked secret.
	KeepPrevious *bool `json:"keep_previous"`
}

// handleRotateSecret gives a shop a new webhook secret and answers it,
// the only time it is shown.
func (s *Server) handleRotateSecret(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	var req rotateSecretRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	keep := req.KeepPrevious == nil || *req.KeepPrevious
	shop, err = s.Service.RotateWebhookSecret(c.Request().Context(), shop.ID, req.WebhookSecret, keep)
	if err != nil {
		return err
	}
	s.Logger.Info("webhook secret rotated", "shop", shop.Domain, "previous_accepted", keep)
	return c.JSON(http.StatusOK, newShopView(shop, true))
}

// handleEndRotation stops accepting a shop's previous webhook secret.
func (s *Server) handleEndRotation(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	shop, err = s.Service.EndWebhookSecretRotation(c.Request().Context(), shop.ID)
	if err != nil {
		return err
	}
	s.Logger.Info("previous webhook secret retired", "shop", shop.Domain)
	return c.JSON(http.StatusOK, newShopView(shop, false))
}

func (s *Server) handleGetSequence(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, shop.Settings.SequenceOrDefault())
}

func (s *Server) handlePutSequence(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	var seq recovery.Sequence
	if err := decodeJSON(c, &seq); err != nil {
		return err
	}
	shop, err = s.Service.UpdateSequence(c.Request().Context(), shop.ID, seq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, shop.Settings.SequenceOrDefault())
}

func (s *Server) handleOutbox(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	limit, before, err := pageParams(c)
	if err != nil {
		return err
	}
	msgs, err := s.Service.Outbox(c.Request().Context(), shop.ID, before, int(limit))
	if err != nil {
		return err
	}
	resp := map[string]any{
		"note":     "Messages held here were NOT sent: no email or SMS provider is configured for their channel.",
		"messages": msgs,
	}
	if msgs == nil {
		resp["messages"] = []*recovery.Message{}
	}
	if len(msgs) == int(limit) {
		resp["next"] = fmt.Sprintf("/admin/api/shops/%s/outbox?limit=%d&before=%d", shop.Domain, limit, msgs[len(msgs)-1].ID)
	}
	return c.JSON(http.StatusOK, resp)
}

// handleStats answers the shop's figures for carts captured in [from, to);
// both accept RFC 3339 times or dates, and default to the last 30 days. A
// date as to counts that whole day, as the dashboard reads it.
func (s *Server) handleStats(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	to, err := timeParam(c, "to", s.now().UTC())
	if err != nil {
		return err
	}
	from, err := timeParam(c, "from", to.Add(-30*24*time.Hour))
	if err != nil {
		return err
	}
	st, err := s.Service.Stats(c.Request().Context(), shop.ID, from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func timeParam(c *echo.Context, name string, def time.Time) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if name == "to" {
			return t.AddDate(0, 0, 1), nil // through the end of that day
		}
		return t, nil
	}
	return time.Time{}, recovery.Errorf(recovery.EINVALID, "%s: must be an RFC 3339 time or a date (2006-01-02)", name)
}

// handleBackup streams a consistent copy of the database; `cartback backup`
// uses it while the service holds the database file.
func (s *Server) handleBackup(c *echo.Context) error {
	if s.Backup == nil {
		return recovery.Errorf(recovery.ENOTIMPLEMENTED, "backup is not available")
	}
	// A large database takes longer to stream than the server's write
	// timeout allows a response.
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(time.Hour))
	n, err := s.Backup(c.Response(), func(size int64) {
		h := c.Response().Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="cartback.db"`)
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		c.Response().WriteHeader(http.StatusOK)
	})
	if err != nil {
		// Headers are gone; Content-Length tells the client the copy is short.
		s.Logger.Error("backup failed", "bytes", n, "error", err)
		return nil
	}
	s.Logger.Info("backup streamed", "bytes", n)
	return nil
}

// handleDataRequests lists the customer data exports the platform asked
// for, each with its document, for the merchant to hand over.
func (s *Server) handleDataRequests(c *echo.Context) error {
	shop, err := s.shopParam(c)
	if err != nil {
		return err
	}
	exports, err := s.Service.Exports(c.Request().Context(), shop.ID)
	if err != nil {
		return err
	}
	if exports == nil {
		exports = []*recovery.DataExport{}
	}
	return c.JSON(http.StatusOK, map[string]any{"data_requests": exports})
}
