package signature

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// MaxRequestSkew is how far a signed request's timestamp may be from now:
// enough for clocks that drift, too little for a captured request to be
// replayed later.
const MaxRequestSkew = 5 * time.Minute

// requestString is what a signed request's signature covers.
func requestString(method, path, timestamp string) []byte {
	return []byte(method + "\n" + path + "\n" + timestamp)
}

// SignRequest signs a request the WooCommerce plugin and cartback send each
// other: base64(HMAC-SHA256(secret, METHOD "\n" PATH "\n" TIMESTAMP)), with
// PATH the request path without query and TIMESTAMP in Unix seconds.
func SignRequest(method, path string, at time.Time, secret string) (timestamp, sig string) {
	timestamp = strconv.FormatInt(at.Unix(), 10)
	return timestamp, Sign(requestString(method, path, timestamp), secret)
}

// VerifyRequest reports whether sig signs the request under any of secrets
// and its timestamp lies within MaxRequestSkew of now.
func VerifyRequest(method, path, timestamp, sig string, now time.Time, secrets ...string) bool {
	return verifyRecent(requestString(method, path, timestamp), timestamp, sig, now, secrets...)
}

// verifyRecent reports whether sig signs msg under any of secrets and
// timestamp lies within MaxRequestSkew of now.
func verifyRecent(msg []byte, timestamp, sig string, now time.Time, secrets ...string) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > MaxRequestSkew || skew < -MaxRequestSkew {
		return false
	}
	return Verify(msg, sig, secrets...)
}

// bodyString is what a signed request with a body covers: the request
// string and the body's SHA-256, in hex.
func bodyString(method, path, timestamp string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return append(requestString(method, path, timestamp), "\n"+hex.EncodeToString(sum[:])...)
}

// SignRequestBody signs a request that carries a body, such as cartback's
// coupon requests to the plugin: base64(HMAC-SHA256(secret, METHOD "\n"
// PATH "\n" TIMESTAMP "\n" hex(SHA-256(BODY)))). The body is covered, so a
// signature seen in a log signs no other request.
func SignRequestBody(method, path string, at time.Time, body []byte, secret string) (timestamp, sig string) {
	timestamp = strconv.FormatInt(at.Unix(), 10)
	return timestamp, Sign(bodyString(method, path, timestamp, body), secret)
}

// VerifyRequestBody is VerifyRequest for SignRequestBody.
func VerifyRequestBody(method, path, timestamp, sig string, body []byte, now time.Time, secrets ...string) bool {
	return verifyRecent(bodyString(method, path, timestamp, body), timestamp, sig, now, secrets...)
}
