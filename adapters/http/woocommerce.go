package http

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/internal/signature"
	"github.com/cartback/cartback/recovery"
)

// pluginShop verifies a request signed by the WooCommerce plugin and
// returns the shop it speaks for. Every failure is the same 401.
func (s *Server) pluginShop(c *echo.Context) (*recovery.Shop, error) {
	h := c.Request().Header
	shop, err := s.Service.ShopByDomain(c.Request().Context(), recovery.NormalizeDomain(h.Get("X-Cartback-Store")))
	if err != nil || shop.Platform != recovery.PlatformWooCommerce ||
		!signature.VerifyRequest(c.Request().Method, c.Request().URL.Path, h.Get("X-Cartback-Timestamp"), h.Get("X-Cartback-Signature"), s.now(),
			shop.WebhookSecret, shop.PreviousWebhookSecret) {
		return nil, Error(http.StatusUnauthorized, "invalid request signature")
	}
	return shop, nil
}

// handlePluginPing lets the plugin's "Connect" button check the sidecar URL
// and the shared secret.
func (s *Server) handlePluginPing(c *echo.Context) error {
	shop, err := s.pluginShop(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "shop": shop.Domain})
}

// handlePluginRestore gives the plugin what it needs to rebuild the cart a
// restore link names.
func (s *Server) handlePluginRestore(c *echo.Context) error {
	shop, err := s.pluginShop(c)
	if err != nil {
		return err
	}
	r, err := s.Service.RestoreForPlugin(c.Request().Context(), s.Signer, shop, c.Param("token"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, r)
}
