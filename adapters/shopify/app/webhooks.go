package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Webhook topics, as the GraphQL WebhookSubscriptionTopic enum names them.
const (
	TopicCheckoutsCreate = "CHECKOUTS_CREATE"
	TopicCheckoutsUpdate = "CHECKOUTS_UPDATE"
	TopicCheckoutsDelete = "CHECKOUTS_DELETE"
	TopicOrdersCreate    = "ORDERS_CREATE"
	TopicAppUninstalled  = "APP_UNINSTALLED"
)

// WebhookTopics are the topics cartback subscribes each shop to. The
// mandatory compliance topics (customers/data_request, customers/redact,
// shop/redact) cannot be subscribed through the API: they are set in the
// app's configuration.
//
// APP_UNINSTALLED comes first: it needs no protected customer data
// approval, which the others do, so a shop whose app lacks that approval
// still tells cartback when it leaves.
var WebhookTopics = []string{
	TopicAppUninstalled,
	TopicCheckoutsCreate, TopicCheckoutsUpdate, TopicCheckoutsDelete,
	TopicOrdersCreate,
}

const webhookSubscriptionsQuery = `query cartbackWebhooks($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}`

const webhookSubscriptionCreateMutation = `mutation cartbackWebhookCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}`

// pageInfo is a GraphQL connection's pageInfo.
type pageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

// EnsureWebhooks subscribes the shop to each of topics (WebhookTopics when
// empty) at callbackURL, creating only the (topic, callbackURL) pairs that
// do not exist yet, so that it can run on every install and every start.
// It returns how many subscriptions it created. Subscriptions to other
// addresses are left alone.
func (c *Client) EnsureWebhooks(ctx context.Context, shop, accessToken, callbackURL string, topics []string) (created int, err error) {
	if callbackURL == "" {
		return 0, fmt.Errorf("shopify webhooks for %s: empty callback URL", shop)
	}
	if len(topics) == 0 {
		topics = WebhookTopics
	}
	existing := map[string]bool{}
	var after any
	for {
		var data struct {
			WebhookSubscriptions struct {
				Nodes []struct {
					Topic string `json:"topic"`
					URI   string `json:"uri"`
				} `json:"nodes"`
				PageInfo pageInfo `json:"pageInfo"`
			} `json:"webhookSubscriptions"`
		}
		if err := c.GraphQL(ctx, shop, accessToken, webhookSubscriptionsQuery, map[string]any{"first": 100, "after": after}, &data); err != nil {
			return 0, fmt.Errorf("listing webhook subscriptions: %w", err)
		}
		for _, n := range data.WebhookSubscriptions.Nodes {
			existing[n.Topic+" "+sameURL(n.URI)] = true
		}
		pi := data.WebhookSubscriptions.PageInfo
		if !pi.HasNextPage || pi.EndCursor == "" {
			break
		}
		after = pi.EndCursor
	}

	// A topic Shopify refuses (a userError, such as a missing approval)
	// does not keep the others from being subscribed: every refusal is
	// reported together.
	var refused []error
	for _, topic := range topics {
		if existing[topic+" "+sameURL(callbackURL)] {
			continue
		}
		var data struct {
			WebhookSubscriptionCreate struct {
				UserErrors UserErrors `json:"userErrors"`
			} `json:"webhookSubscriptionCreate"`
		}
		vars := map[string]any{
			"topic":               topic,
			"webhookSubscription": map[string]any{"uri": callbackURL, "format": "JSON"},
		}
		if err := c.GraphQL(ctx, shop, accessToken, webhookSubscriptionCreateMutation, vars, &data); err != nil {
			return created, fmt.Errorf("subscribing to %s: %w", topic, err)
		}
		if ue := data.WebhookSubscriptionCreate.UserErrors; len(ue) > 0 {
			refused = append(refused, fmt.Errorf("shopify webhooks for %s: subscribing to %s: %w", shop, topic, ue))
			continue
		}
		existing[topic+" "+sameURL(callbackURL)] = true
		created++
	}
	return created, errors.Join(refused...)
}

// sameURL normalises a webhook address for comparison.
func sameURL(u string) string {
	return strings.TrimSuffix(strings.TrimSpace(u), "/")
}
