// Package app is the plumbing of cartback's Shopify app: the OAuth install
// flow, expiring offline access tokens and their refresh, encryption of
// tokens at rest, and a small client for the GraphQL Admin API.
//
// It has no HTTP routing of its own. The HTTP layer wires it up roughly so:
//
//   - GET /shopify/install: check the query with VerifyQuery (when Shopify
//     signed it), ValidShopDomain and FreshTimestamp, then NewState, set the
//     cookie value, and redirect to AuthorizeURL.
//   - GET /shopify/callback: CheckCallback, CheckState against the cookie,
//     then Client.ExchangeCode, seal the Token with Sealer.SealToken, store
//     it, and call Client.EnsureWebhooks.
//   - Background: refresh tokens whose Token.NeedsRefresh reports true,
//     reconcile with Client.AbandonedCheckouts, and ask
//     Client.CheckoutCompleted just before a reminder goes out.
//
// # GraphQL Admin API
//
// All Admin API calls go to /admin/api/{APIVersion}/graphql.json. The
// fields relied on are:
//
//   - webhookSubscriptions { nodes { id topic uri } pageInfo } and
//     webhookSubscriptionCreate(topic, webhookSubscription: {uri, format})
//     { webhookSubscription { id topic uri } userErrors { field message } }.
//     Since 2025-10 the unified uri field replaces the deprecated
//     endpoint { ... on WebhookHttpEndpoint { callbackUrl } } and callbackUrl
//     input; only uri is read and written.
//   - abandonedCheckouts(first, after, query: "updated_at:>='…'",
//     sortKey: ID) with, on each node: id, name, abandonedCheckoutUrl,
//     createdAt, updatedAt, completedAt, taxesIncluded, customer { firstName
//     lastName locale defaultEmailAddress { emailAddress marketingState }
//     defaultPhoneNumber { phoneNumber marketingState } }, billingAddress {
//     firstName lastName phone countryCodeV2 }, lineItems(first: 20) {
//     nodes { id title variantTitle sku quantity originalUnitPriceSet
//     product { id } variant { id } image { url } customAttributes { key
//     value } } }, and subtotalPriceSet, totalDiscountSet, totalTaxSet,
//     totalPriceSet (presentmentMoney { amount currencyCode }).
//     AbandonedCheckoutSortKeys has no UPDATED_AT, so pages are in id order
//     and the returned cursor is the greatest updatedAt seen.
//     AbandonedCheckout has no token field: the checkout token is read from
//     the path of abandonedCheckoutUrl (/…/checkouts/{token}/recover).
//   - orders(first: 1, query: "checkout_token:'…'") { nodes { id name
//     checkoutToken } } answers whether a checkout became an order.
//   - discountCodeBasicCreate(basicCodeDiscount: {title code startsAt endsAt
//     context: {all: ALL} customerGets { value { percentage | discountAmount
//     { amount appliesOnEachItem } } items { all } } usageLimit
//     appliesOncePerCustomer combinesWith { shippingDiscounts: true }})
//     { codeDiscountNode { id } userErrors { field code message } }.
//
// Reading customer names, emails and phones needs Shopify's approval for
// protected customer data, in addition to the read_customers scope.
package app
