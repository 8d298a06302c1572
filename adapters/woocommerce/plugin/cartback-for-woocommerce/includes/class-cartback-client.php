<?php
/**
 * Requests to the cartback server.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Talks to cartback: the connection check, restores and cart events.
 */
class Cartback_Client {

	const PING_PATH    = '/api/woocommerce/ping';
	const RESTORE_PATH = '/api/woocommerce/restore/';

	/**
	 * Seconds a cart event may take to go out while the shopper's response
	 * is still open (the server cannot finish it early, as under mod_php):
	 * it is sent without waiting for cartback's answer, but connecting and
	 * sending still take up to this long.
	 */
	const EVENT_TIMEOUT = 2;

	/**
	 * Seconds a cart event waits for cartback's answer once the shopper's
	 * response is finished, and when it is retried: no one waits for it
	 * then, and the answer tells whether it arrived.
	 */
	const EVENT_WAIT_TIMEOUT = 5;

	/**
	 * Action Scheduler hook that sends a cart event again.
	 */
	const RETRY_HOOK = 'cartback_retry_event';

	/**
	 * Seconds after a failed send that the event is sent again.
	 */
	const RETRY_DELAY = 60;

	/**
	 * Starts the name of the transient a retried event waits in.
	 */
	const RETRY_KEY = 'cartback_retry_';

	/**
	 * Seconds a retried event waits for Action Scheduler before it is
	 * dropped.
	 */
	const RETRY_KEEP = 3600;

	/**
	 * Seconds a restore link waits for cartback: the shopper is waiting
	 * for the redirect.
	 */
	const RESTORE_TIMEOUT = 5;

	/**
	 * Seconds the Connect button waits for cartback.
	 */
	const PING_TIMEOUT = 10;

	/**
	 * Whether finish_response() finished the response: null until it has
	 * run.
	 *
	 * @var bool|null
	 */
	private $finished = null;

	/**
	 * Hooks in the retry of cart events and lets WordPress's safe HTTP
	 * functions reach the cartback URL (see allow_cartback_host()).
	 *
	 * @return void
	 */
	public function register() {
		add_action( self::RETRY_HOOK, array( $this, 'retry_event' ), 10, 3 );
		add_filter( 'http_request_host_is_external', array( __CLASS__, 'allow_cartback_host' ), 10, 3 );
		add_filter( 'http_allowed_safe_ports', array( __CLASS__, 'allow_cartback_port' ), 10, 3 );
	}

	/**
	 * Checks the sidecar URL and the secret.
	 *
	 * @return array{ok:bool,shop?:string,error?:string}
	 */
	public function ping() {
		$response = $this->signed_get( self::PING_PATH, self::PING_TIMEOUT );
		if ( is_wp_error( $response ) ) {
			return array(
				'ok'    => false,
				'error' => $response->get_error_message(),
			);
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		$body = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( 200 === $code && is_array( $body ) && ! empty( $body['ok'] ) ) {
			return array(
				'ok'   => true,
				'shop' => isset( $body['shop'] ) ? (string) $body['shop'] : '',
			);
		}
		if ( 401 === $code ) {
			$error = __( 'cartback refused the secret. Check that it is this shop\'s webhook secret and that the shop is registered under this site\'s domain.', 'cartback-for-woocommerce' );
		} else {
			/* translators: %d: HTTP status code */
			$error = sprintf( __( 'cartback answered with HTTP status %d.', 'cartback-for-woocommerce' ), $code );
		}
		return array(
			'ok'    => false,
			'error' => $error,
		);
	}

	/**
	 * Asks cartback for the cart a restore token names.
	 *
	 * @param string $token Restore token from the link.
	 * @return array{status:string,cart?:array} status is "ok", "invalid" (404 or 410), "bought" (409) or "error".
	 */
	public function restore( $token ) {
		$response = $this->signed_get( self::RESTORE_PATH . $token, self::RESTORE_TIMEOUT );
		if ( is_wp_error( $response ) ) {
			return array( 'status' => 'error' );
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		if ( 404 === $code || 410 === $code ) {
			return array( 'status' => 'invalid' );
		}
		if ( 409 === $code ) {
			return array( 'status' => 'bought' );
		}
		$cart = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( 200 !== $code || ! is_array( $cart ) || ! isset( $cart['items'] ) || ! is_array( $cart['items'] ) ) {
			return array( 'status' => 'error' );
		}
		return array(
			'status' => 'ok',
			'cart'   => $cart,
		);
	}

	/**
	 * Sends a cart event like WooCommerce sends a webhook.
	 *
	 * Once finish_response() has finished the shopper's response, nobody
	 * waits for the event: it waits for cartback's answer, and one that did
	 * not arrive is sent again a minute later (schedule_retry()). Where the
	 * response cannot be finished early (mod_php), the shopper would wait,
	 * so it is sent without waiting for the answer, with a short timeout: a
	 * non-blocking request still connects and hands over the body before it
	 * returns (with cURL, until the timeout).
	 *
	 * @param string $topic    cart.updated or cart.deleted.
	 * @param string $body     JSON body.
	 * @param string $revision Tells apart events with the same body that are
	 *                         not resends of one another.
	 * @return void
	 */
	public function send_event( $topic, $body, $revision = '' ) {
		if ( ! Cartback_Settings::is_configured() ) {
			return;
		}
		$wait     = true === $this->finished;
		$response = $this->post_event( $topic, $body, $revision, $wait );
		if ( null !== $response && self::is_temporary_failure( $response ) ) {
			$this->schedule_retry( $topic, $body, $revision );
		}
	}

	/**
	 * Sends a cart event again, from Action Scheduler. It is the last try:
	 * an event that fails again is dropped, and the cart's next change or
	 * heartbeat sends it afresh.
	 *
	 * @param string $topic    cart.updated or cart.deleted.
	 * @param string $body     JSON body, as first sent.
	 * @param string $revision As first sent, so that the delivery id is the
	 *                         same and cartback takes a copy that did arrive
	 *                         for a resend.
	 * @return void
	 */
	public function retry_event( $topic, $body = null, $revision = '' ) {
		if ( null === $body && is_string( $topic ) && 0 === strpos( $topic, self::RETRY_KEY ) ) {
			// The event waits in a transient; the action holds only its
			// key, so that nothing about the shopper sits in Action
			// Scheduler's table (and its admin screen) for weeks.
			$event = get_transient( $topic );
			delete_transient( $topic );
			if ( ! is_array( $event ) || 3 !== count( $event ) ) {
				return;
			}
			list( $topic, $body, $revision ) = array_values( $event );
		}
		if ( ! in_array( $topic, array( 'cart.updated', 'cart.deleted' ), true ) || ! is_string( $body ) || '' === $body || ! Cartback_Settings::is_configured() ) {
			return;
		}
		$this->post_event( $topic, $body, is_scalar( $revision ) ? (string) $revision : '', true );
	}

	/**
	 * Whether a cart event's send failed in a way worth one more try: it
	 * did not reach cartback (no connection, a timeout), or cartback could
	 * not take it then (5xx, 408, 425, 429). An answer that refuses the
	 * event itself (400 malformed, 401 wrong secret or unknown shop, 409,
	 * 413 too large, a redirect to another URL) would be the same a minute
	 * later, as would a URL WordPress refuses to request.
	 *
	 * @param array|WP_Error $response What wp_safe_remote_post() returned.
	 * @return bool
	 */
	public static function is_temporary_failure( $response ) {
		if ( is_wp_error( $response ) ) {
			return 'http_request_not_executed' !== $response->get_error_code();
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		return $code >= 500 || in_array( $code, array( 408, 425, 429 ), true );
	}

	/**
	 * Sends the shopper's response and closes the connection, where the
	 * server allows it (PHP-FPM, LiteSpeed), so that the shopper does not
	 * wait while the cart events go out. The script is told to go on when
	 * the shopper's connection closes, so that the events still go out.
	 * Output after this is discarded, so the capture calls it last on
	 * shutdown, after WooCommerce has saved the session: the shopper's next
	 * request must find the session saved.
	 *
	 * @return bool Whether the response was finished, so that nobody waits
	 *              for what the request does from now on.
	 */
	public function finish_response() {
		if ( null !== $this->finished ) {
			return $this->finished;
		}
		if ( function_exists( 'ignore_user_abort' ) ) {
			ignore_user_abort( true );
		}
		$finished = false;
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			$finished = (bool) fastcgi_finish_request();
		} elseif ( function_exists( 'litespeed_finish_request' ) ) {
			$finished = (bool) litespeed_finish_request();
		}
		$this->finished = $finished;
		return $finished;
	}

	/**
	 * The headers of a cart event, as docs/woocommerce-events.md lists them.
	 *
	 * @param string $topic    cart.updated or cart.deleted.
	 * @param string $body     JSON body.
	 * @param string $secret   The shop's webhook secret.
	 * @param string $revision Tells apart events with the same body that are
	 *                         not resends of one another.
	 * @return array<string,string>
	 */
	public static function event_headers( $topic, $body, $secret, $revision = '' ) {
		return array(
			'Content-Type'             => 'application/json',
			'X-WC-Webhook-Topic'       => $topic,
			'X-WC-Webhook-Source'      => Cartback_Settings::store_url(),
			'X-WC-Webhook-Signature'   => Cartback_Signer::sign_body( $body, $secret ),
			// A resend of the same event gets the same id, so it is a retry.
			'X-WC-Webhook-Delivery-ID' => substr( hash( 'sha256', $topic . "\n" . $revision . "\n" . $body ), 0, 32 ),
		);
	}

	/**
	 * A signed GET to cartback.
	 *
	 * @param string $path    Path starting with /api/.
	 * @param int    $timeout Seconds to wait for the answer.
	 * @return array|WP_Error
	 */
	private function signed_get( $path, $timeout ) {
		if ( ! Cartback_Settings::is_configured() ) {
			$error = Cartback_Settings::sidecar_url_error();
			return new WP_Error( 'cartback_not_configured', '' !== $error ? $error : __( 'Enter the cartback URL and the secret first.', 'cartback-for-woocommerce' ) );
		}
		return $this->request(
			'GET',
			Cartback_Settings::sidecar_url() . $path,
			array(
				'timeout'     => $timeout,
				'redirection' => 0,
				'user-agent'  => 'cartback-for-woocommerce/' . CARTBACK_VERSION,
				'headers'     => array_merge(
					array( 'Accept' => 'application/json' ),
					Cartback_Signer::request_headers( 'GET', $path, Cartback_Settings::secret(), time() )
				),
			)
		);
	}

	/**
	 * Posts a cart event.
	 *
	 * @param string $topic    cart.updated or cart.deleted.
	 * @param string $body     JSON body.
	 * @param string $revision See send_event().
	 * @param bool   $wait     Whether to wait for cartback's answer.
	 * @return array|WP_Error|null The answer, or null when the request did
	 *                             not wait for it.
	 */
	private function post_event( $topic, $body, $revision, $wait ) {
		$args = array(
			'method'      => 'POST',
			'timeout'     => $wait ? self::EVENT_WAIT_TIMEOUT : self::EVENT_TIMEOUT,
			'blocking'    => $wait,
			'redirection' => 0,
			'user-agent'  => 'cartback-for-woocommerce/' . CARTBACK_VERSION,
			'headers'     => self::event_headers( $topic, $body, Cartback_Settings::secret(), $revision ),
			'body'        => $body,
			'data_format' => 'body',
		);
		/**
		 * Filters the arguments of a cart event's request.
		 *
		 * @param array  $args  wp_safe_remote_post() arguments.
		 * @param string $topic cart.updated or cart.deleted.
		 */
		$args     = (array) apply_filters( 'cartback_event_request_args', $args, $topic );
		$response = $this->request( 'POST', Cartback_Settings::webhook_url(), $args );
		return empty( $args['blocking'] ) ? null : $response;
	}

	/**
	 * Has Action Scheduler (which WooCommerce includes) send the event once
	 * more in a minute. The event waits in a transient for an hour; the
	 * scheduled action names only that transient. Without Action
	 * Scheduler, the event is dropped, as before: the cart's next change
	 * or heartbeat sends it afresh. Nothing about the shopper is logged.
	 *
	 * @param string $topic    cart.updated or cart.deleted.
	 * @param string $body     JSON body.
	 * @param string $revision See send_event().
	 * @return void
	 */
	private function schedule_retry( $topic, $body, $revision ) {
		if ( ! function_exists( 'as_schedule_single_action' ) ) {
			return;
		}
		if ( function_exists( 'wp_http_validate_url' ) && ! wp_http_validate_url( Cartback_Settings::webhook_url() ) ) {
			// WordPress refuses the URL itself (a private address, a port
			// it does not allow): a minute later it would again.
			return;
		}
		$key = self::RETRY_KEY . bin2hex( random_bytes( 10 ) );
		if ( ! set_transient( $key, array( $topic, $body, $revision ), self::RETRY_KEEP ) ) {
			return;
		}
		try {
			as_schedule_single_action( time() + self::RETRY_DELAY, self::RETRY_HOOK, array( $key ), 'cartback' );
		} catch ( Exception $e ) {
			// Dropped, as without Action Scheduler.
			delete_transient( $key );
			return;
		}
	}

	/**
	 * Lets WordPress's safe HTTP functions (wp_safe_remote_*(), which the
	 * plugin and WooCommerce's webhooks use) reach a cartback on this
	 * machine (http://localhost:8787 while developing): they refuse hosts
	 * that resolve to loopback or private network addresses unless this
	 * filter allows them.
	 *
	 * Only the cartback URL's own host and port are allowed, only when it
	 * is localhost or 127.0.0.1, and only because a shop manager typed it
	 * as the cartback URL. A cartback on another private address is not:
	 * allow its host with this filter in code of your own.
	 *
	 * @param bool   $external Whether the host counts as external.
	 * @param string $host     The requested host.
	 * @param string $url      The requested URL.
	 * @return bool
	 */
	public static function allow_cartback_host( $external, $host = '', $url = '' ) {
		if ( $external ) {
			return $external;
		}
		$cartback = Cartback_Settings::sidecar_url();
		if ( '' === $cartback || ! Cartback_Settings::is_local_url( $cartback ) || '' !== Cartback_Settings::sidecar_url_error() ) {
			return $external;
		}
		return self::is_cartback_url( '' !== (string) $url ? (string) $url : 'http://' . $host, $cartback );
	}

	/**
	 * Lets WordPress's safe HTTP functions reach the cartback URL on its
	 * port: they refuse ports other than 80, 443 and 8080
	 * (wp_http_validate_url()), and a cartback may listen on another
	 * (https://cartback.example.com:8443). Only requests to the cartback
	 * URL's host and port are allowed it.
	 *
	 * @param int[]  $ports Ports allowed.
	 * @param string $host  The requested host.
	 * @param string $url   The requested URL.
	 * @return int[]
	 */
	public static function allow_cartback_port( $ports, $host = '', $url = '' ) {
		$cartback = Cartback_Settings::sidecar_url();
		if ( ! is_array( $ports ) || '' === $cartback || '' === (string) $url || '' !== Cartback_Settings::sidecar_url_error() ) {
			return $ports;
		}
		$port = (int) wp_parse_url( $cartback, PHP_URL_PORT );
		if ( $port && ! in_array( $port, $ports, true ) && self::is_cartback_url( (string) $url, $cartback ) ) {
			$ports[] = $port;
		}
		return $ports;
	}

	/**
	 * Whether a URL is on the cartback URL's host and port.
	 *
	 * @param string $url      The requested URL.
	 * @param string $cartback The cartback URL.
	 * @return bool
	 */
	private static function is_cartback_url( $url, $cartback ) {
		$host = strtolower( trim( (string) wp_parse_url( $url, PHP_URL_HOST ), '.' ) );
		return '' !== $host
			&& strtolower( trim( (string) wp_parse_url( $cartback, PHP_URL_HOST ), '.' ) ) === $host
			&& self::effective_port( $cartback ) === self::effective_port( $url );
	}

	/**
	 * A URL's port, or its scheme's default.
	 *
	 * @param string $url URL.
	 * @return int
	 */
	private static function effective_port( $url ) {
		$port = (int) wp_parse_url( $url, PHP_URL_PORT );
		if ( $port ) {
			return $port;
		}
		return 'https' === strtolower( (string) wp_parse_url( $url, PHP_URL_SCHEME ) ) ? 443 : 80;
	}

	/**
	 * Makes a request with WordPress's safe HTTP functions, which refuse
	 * hosts that resolve to loopback or private network addresses and ports
	 * other than 80, 443 and 8080, except the cartback URL's own as
	 * allow_cartback_host() and allow_cartback_port() allow them.
	 *
	 * @param string $method GET or POST.
	 * @param string $url    The URL, on the cartback server.
	 * @param array  $args   wp_safe_remote_*() arguments.
	 * @return array|WP_Error
	 */
	private function request( $method, $url, array $args ) {
		return 'POST' === $method ? wp_safe_remote_post( $url, $args ) : wp_safe_remote_get( $url, $args );
	}
}
