package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIVersion is the GraphQL Admin API version cartback speaks.
const APIVersion = "2026-10"

// Throttle handling of GraphQL calls.
const (
	// maxThrottleRetries is how many times a throttled call is retried.
	maxThrottleRetries = 4
	// maxThrottleWait bounds one wait for the cost bucket to refill.
	maxThrottleWait = 20 * time.Second
	// minThrottleWait is the least one waits after being throttled.
	minThrottleWait = 10 * time.Millisecond
)

// ErrUnauthorized is wrapped by GraphQL errors when Shopify refused the
// access token (HTTP 401 or 403): it expired, was revoked by an
// uninstall, or lacks a scope. Refresh the token or have the merchant
// install again.
var ErrUnauthorized = errors.New("shopify refused the access token")

// ErrThrottled is wrapped by GraphQL errors when the call was still
// throttled after every retry.
var ErrThrottled = errors.New("shopify throttled the request")

// GraphQLError is one entry of a GraphQL response's top-level errors.
type GraphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Code returns the error's extensions.code, such as THROTTLED or
// ACCESS_DENIED.
func (e GraphQLError) Code() string {
	s, _ := e.Extensions["code"].(string)
	return s
}

// GraphQLErrors is the error returned when a response carries top-level
// errors.
type GraphQLErrors []GraphQLError

// Error joins the messages and codes.
func (es GraphQLErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Message
		if code := e.Code(); code != "" {
			msgs[i] += " (" + code + ")"
		}
	}
	return "graphql errors: " + strings.Join(msgs, "; ")
}

// UserError is one entry of a mutation's userErrors: input Shopify
// refused.
type UserError struct {
	Field   []string `json:"field"`
	Code    string   `json:"code,omitempty"`
	Message string   `json:"message"`
}

// UserErrors is the error returned when a mutation reports userErrors.
type UserErrors []UserError

// Error joins the fields and messages.
func (es UserErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Message
		if len(e.Field) > 0 {
			msgs[i] = strings.Join(e.Field, ".") + ": " + e.Message
		}
	}
	return "user errors: " + strings.Join(msgs, "; ")
}

// ThrottleStatus is extensions.cost.throttleStatus: the state of the
// app's query cost bucket for the shop.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// QueryCost is extensions.cost of a GraphQL response.
type QueryCost struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     ThrottleStatus `json:"throttleStatus"`
}

// wait returns how long until the bucket holds the requested cost again.
func (c QueryCost) wait() time.Duration {
	ts := c.ThrottleStatus
	if ts.RestoreRate <= 0 {
		return time.Second
	}
	missing := c.RequestedQueryCost - ts.CurrentlyAvailable
	d := time.Duration(math.Ceil(missing / ts.RestoreRate * float64(time.Second)))
	return min(max(d, minThrottleWait), maxThrottleWait)
}

// graphQLResponse is the envelope of a GraphQL answer. Errors is raw
// because Shopify sends a plain string instead of a list on some
// authentication failures.
type graphQLResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions struct {
		Cost *QueryCost `json:"cost"`
	} `json:"extensions"`
}

// GraphQL runs query with vars against the shop's GraphQL Admin API
// (POST {base}/admin/api/{APIVersion}/graphql.json, authenticated by the
// X-Shopify-Access-Token header) and decodes the response's data into out
// when out is not nil.
//
// A throttled call (HTTP 429, or a THROTTLED error) is retried up to a
// few times, after waiting (requestedQueryCost - currentlyAvailable) /
// restoreRate seconds as reported in extensions.cost, bounded and cut
// short by ctx. Top-level errors give a GraphQLErrors; HTTP 401 and 403
// wrap ErrUnauthorized.
func (c *Client) GraphQL(ctx context.Context, shop, accessToken, query string, vars map[string]any, out any) error {
	if !ValidShopDomain(shop) {
		return fmt.Errorf("shopify graphql: %q is not a myshopify.com domain", shop)
	}
	if accessToken == "" {
		return fmt.Errorf("shopify graphql for %s: no access token", shop)
	}
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fmt.Errorf("shopify graphql for %s: encoding request: %w", shop, err)
	}
	endpoint := c.base(shop) + "/admin/api/" + APIVersion + "/graphql.json"
	for attempt := 0; ; attempt++ {
		wait, err := c.graphQLOnce(ctx, shop, endpoint, accessToken, payload, out)
		if wait == 0 {
			return err
		}
		if attempt >= maxThrottleRetries {
			return fmt.Errorf("shopify graphql for %s: %w after %d attempts: %w", shop, ErrThrottled, attempt+1, err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("shopify graphql for %s: waiting out throttling: %w", shop, ctx.Err())
		case <-timer.C:
		}
	}
}

// graphQLOnce sends one request. A non-zero wait means it was throttled
// and may be retried after wait.
func (c *Client) graphQLOnce(ctx context.Context, shop, endpoint, accessToken string, payload []byte, out any) (wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		return 0, fmt.Errorf("shopify graphql for %s: %w", shop, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", accessToken)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, fmt.Errorf("shopify graphql for %s: %w", shop, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, fmt.Errorf("shopify graphql for %s: reading response: %w", shop, err)
	}
	var gr graphQLResponse
	jsonErr := json.Unmarshal(raw, &gr)

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		wait := time.Second
		if s, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil && s > 0 {
			wait = min(time.Duration(s*float64(time.Second)), maxThrottleWait)
		} else if jsonErr == nil && gr.Extensions.Cost != nil {
			wait = gr.Extensions.Cost.wait()
		}
		return wait, fmt.Errorf("shopify graphql for %s: HTTP 429", shop)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return 0, fmt.Errorf("shopify graphql for %s: %w: HTTP %d: %s", shop, ErrUnauthorized, resp.StatusCode, snippet(raw))
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("shopify graphql for %s: HTTP %d: %s", shop, resp.StatusCode, snippet(raw))
	case jsonErr != nil:
		return 0, fmt.Errorf("shopify graphql for %s: decoding response: %w", shop, jsonErr)
	}

	if len(gr.Errors) > 0 && string(gr.Errors) != "null" {
		var errs GraphQLErrors
		if err := json.Unmarshal(gr.Errors, &errs); err != nil {
			var msg string
			if json.Unmarshal(gr.Errors, &msg) != nil {
				msg = snippet(gr.Errors)
			}
			errs = GraphQLErrors{{Message: msg}}
		}
		if len(errs) > 0 {
			for _, e := range errs {
				if e.Code() == "THROTTLED" {
					wait := time.Second
					if gr.Extensions.Cost != nil {
						wait = gr.Extensions.Cost.wait()
					}
					return wait, fmt.Errorf("shopify graphql for %s: %w", shop, errs)
				}
			}
			return 0, fmt.Errorf("shopify graphql for %s: %w", shop, errs)
		}
	}
	if out != nil {
		if len(gr.Data) == 0 || string(gr.Data) == "null" {
			return 0, fmt.Errorf("shopify graphql for %s: response has no data", shop)
		}
		if err := json.Unmarshal(gr.Data, out); err != nil {
			return 0, fmt.Errorf("shopify graphql for %s: decoding data: %w", shop, err)
		}
	}
	return 0, nil
}
