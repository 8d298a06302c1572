<?php
/**
 * Signatures shared with cartback.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Signs event bodies and requests, and verifies cartback's requests.
 */
class Cartback_Signer {

	/**
	 * How far, in seconds, a signed request's timestamp may be from now.
	 */
	const MAX_SKEW = 300;

	/**
	 * Signs an event body as WooCommerce signs its webhooks:
	 * base64(HMAC-SHA256(secret, body)).
	 *
	 * @param string $body   The exact bytes sent.
	 * @param string $secret The shop's webhook secret.
	 * @return string
	 */
	public static function sign_body( $body, $secret ) {
		return base64_encode( hash_hmac( 'sha256', $body, $secret, true ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
	}

	/**
	 * Signs a request: base64(HMAC-SHA256(secret, METHOD "\n" PATH "\n" TIMESTAMP)).
	 *
	 * @param string     $method    HTTP method, e.g. GET.
	 * @param string     $path      Request path without query, e.g. /api/woocommerce/ping.
	 * @param int|string $timestamp Unix seconds.
	 * @param string     $secret    The shop's webhook secret.
	 * @return string
	 */
	public static function sign_request( $method, $path, $timestamp, $secret ) {
		return self::sign_body( strtoupper( $method ) . "\n" . $path . "\n" . $timestamp, $secret );
	}

	/**
	 * Signs a request with a body: base64(HMAC-SHA256(secret, METHOD "\n"
	 * PATH "\n" TIMESTAMP "\n" hex(SHA-256(BODY)))), so that a signature
	 * seen in a log signs no other request.
	 *
	 * @param string     $method    HTTP method, e.g. POST.
	 * @param string     $path      Request path without query.
	 * @param int|string $timestamp Unix seconds.
	 * @param string     $body      The raw request body.
	 * @param string     $secret    The shop's webhook secret.
	 * @return string
	 */
	public static function sign_request_body( $method, $path, $timestamp, $body, $secret ) {
		return self::sign_body( strtoupper( $method ) . "\n" . $path . "\n" . $timestamp . "\n" . hash( 'sha256', (string) $body ), $secret );
	}

	/**
	 * Whether a request with a body that cartback sent is signed with
	 * secret, over that body, and recent.
	 *
	 * @param string $method    HTTP method.
	 * @param string $path      Request path.
	 * @param string $timestamp X-Cartback-Timestamp.
	 * @param string $signature X-Cartback-Signature.
	 * @param string $body      The raw request body.
	 * @param string $secret    The shop's webhook secret.
	 * @param int    $now       Unix seconds.
	 * @return bool
	 */
	public static function verify_request_body( $method, $path, $timestamp, $signature, $body, $secret, $now ) {
		$timestamp = trim( (string) $timestamp );
		if ( '' === $secret || '' === (string) $signature || ! preg_match( '/^\d{1,12}$/', $timestamp ) ) {
			return false;
		}
		if ( abs( $now - (int) $timestamp ) > self::MAX_SKEW ) {
			return false;
		}
		return hash_equals( self::sign_request_body( $method, $path, $timestamp, $body, $secret ), trim( (string) $signature ) );
	}

	/**
	 * The headers of a signed request to cartback.
	 *
	 * @param string $method HTTP method.
	 * @param string $path   Request path, starting with /api/.
	 * @param string $secret The shop's webhook secret.
	 * @param int    $now    Unix seconds.
	 * @return array<string,string>
	 */
	public static function request_headers( $method, $path, $secret, $now ) {
		$timestamp = (string) $now;
		return array(
			'X-Cartback-Store'     => Cartback_Settings::store_url(),
			'X-Cartback-Timestamp' => $timestamp,
			'X-Cartback-Signature' => self::sign_request( $method, $path, $timestamp, $secret ),
		);
	}

	/**
	 * Whether a request cartback sent is signed with secret and recent.
	 *
	 * @param string $method    HTTP method.
	 * @param string $path      Request path.
	 * @param string $timestamp X-Cartback-Timestamp.
	 * @param string $signature X-Cartback-Signature.
	 * @param string $secret    The shop's webhook secret.
	 * @param int    $now       Unix seconds.
	 * @return bool
	 */
	public static function verify_request( $method, $path, $timestamp, $signature, $secret, $now ) {
		$timestamp = trim( (string) $timestamp );
		if ( '' === $secret || '' === (string) $signature || ! preg_match( '/^\d{1,12}$/', $timestamp ) ) {
			return false;
		}
		if ( abs( $now - (int) $timestamp ) > self::MAX_SKEW ) {
			return false;
		}
		return hash_equals( self::sign_request( $method, $path, $timestamp, $secret ), trim( (string) $signature ) );
	}
}
