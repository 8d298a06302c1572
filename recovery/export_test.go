package recovery

// WithDiscountForTest exposes withDiscount for a Shopify shop to tests.
func WithDiscountForTest(restoreURL, code string) string {
	return withDiscount(&Shop{Platform: PlatformShopify, Domain: "demo.myshopify.com"}, restoreURL, code)
}
