<?php
/**
 * The restore link: ?cartback_restore={token}.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Rebuilds a cart from cartback's answer for a restore token and sends the
 * shopper to the checkout.
 */
class Cartback_Restore {

	const QUERY_VAR = 'cartback_restore';

	/**
	 * Failed restore lookups (a malformed token, or one cartback does not
	 * know or has expired) one client may make per RATE_WINDOW before its
	 * links are no longer looked up. Each lookup costs a signed request the
	 * shopper waits for, so a flood of made-up tokens must not tie up the
	 * shop; links that work are not counted, so that shoppers who share an
	 * address (behind a proxy that leaves REMOTE_ADDR as its own) are not
	 * turned away by one another's clicks.
	 */
	const RATE_LIMIT = 20;

	/**
	 * Seconds over which RATE_LIMIT counts.
	 */
	const RATE_WINDOW = 600;

	/**
	 * Asks cartback for the cart.
	 *
	 * @var Cartback_Client
	 */
	private $client;

	/**
	 * Keeps the cart key and stays quiet while the cart is rebuilt.
	 *
	 * @var Cartback_Capture
	 */
	private $capture;

	/**
	 * Returns the time in Unix seconds.
	 *
	 * @var callable
	 */
	private $clock;

	/**
	 * Constructor.
	 *
	 * @param Cartback_Client  $client  Asks cartback for the cart.
	 * @param Cartback_Capture $capture The capture.
	 * @param callable|null    $clock   Returns Unix seconds; time() by default.
	 */
	public function __construct( Cartback_Client $client, Cartback_Capture $capture, $clock = null ) {
		$this->client  = $client;
		$this->capture = $capture;
		$this->clock   = $clock ? $clock : 'time';
	}

	/**
	 * Hooks into WordPress, once WooCommerce has loaded the cart.
	 *
	 * @return void
	 */
	public function register() {
		add_action( 'wp_loaded', array( $this, 'maybe_restore' ), 20 );
	}

	/**
	 * Restores the cart when the request carries a restore token, then
	 * redirects.
	 *
	 * @return void
	 */
	public function maybe_restore() {
		if ( ! isset( $_GET[ self::QUERY_VAR ] ) ) { // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- the token is the credential.
			return;
		}
		$token = sanitize_text_field( wp_unslash( $_GET[ self::QUERY_VAR ] ) ); // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		nocache_headers();
		wp_safe_redirect( $this->restore( $token ) );
		$this->stop();
	}

	/**
	 * Restores the cart a token names.
	 *
	 * @param string $token Restore token.
	 * @return string The URL to send the shopper to.
	 */
	public function restore( $token ) {
		$fallback = $this->fallback_url();
		$wc = WC();
		if ( ! isset( $wc->session, $wc->cart ) || ! is_object( $wc->session ) || ! is_object( $wc->cart ) ) {
			return $fallback;
		}
		$agent = isset( $_SERVER['HTTP_USER_AGENT'] ) ? sanitize_text_field( wp_unslash( $_SERVER['HTTP_USER_AGENT'] ) ) : '';
		if ( Cartback_Capture::is_crawler( $agent ) ) {
			// Link checkers of mail providers: nothing to rebuild for them.
			return $fallback;
		}
		if ( $this->rate_limited() ) {
			// Nothing is asked of cartback for a client that may be
			// flooding the shop; a shopper is told to come back.
			$this->start_session();
			wc_add_notice( __( 'This link could not be opened right now. Please try again in a few minutes.', 'cartback-for-woocommerce' ), 'error' );
			return $fallback;
		}
		if ( '' === $token || strlen( $token ) > 512 || ! preg_match( '/^[A-Za-z0-9._~-]+$/', $token ) ) {
			$this->count_failed_lookup();
			$this->start_session();
			wc_add_notice( __( 'This link is invalid or has expired.', 'cartback-for-woocommerce' ), 'error' );
			return $fallback;
		}

		$answer = $this->client->restore( $token );
		// A guest opening the link in a browser without a session has no
		// session cookie yet, and WooCommerce saves no session without one:
		// the notices below would be lost before the page they are for.
		$this->start_session();
		if ( 'bought' === $answer['status'] ) {
			wc_add_notice( __( 'This order has already been placed. Thank you!', 'cartback-for-woocommerce' ), 'notice' );
			return $fallback;
		}
		if ( 'invalid' === $answer['status'] ) {
			$this->count_failed_lookup();
			wc_add_notice( __( 'This link is invalid or has expired.', 'cartback-for-woocommerce' ), 'error' );
			return $fallback;
		}
		if ( 'ok' !== $answer['status'] ) {
			wc_add_notice( __( 'Your cart could not be restored right now. Please try the link again in a moment.', 'cartback-for-woocommerce' ), 'error' );
			return $fallback;
		}

		$cart  = $answer['cart'];
		$added = $this->capture->suppressed(
			function () use ( $cart ) {
				return $this->rebuild( $cart );
			}
		);

		// The shopper may come back in a browser without a session: start one.
		$wc->session->set_customer_session_cookie( true );
		if ( 0 === $added ) {
			wc_add_notice( __( 'None of the products in your cart are available any more.', 'cartback-for-woocommerce' ), 'error' );
			return $this->fallback_url();
		}
		// The first change the shopper makes is reported under the old key.
		$this->capture->mark_dirty();
		return wc_get_checkout_url();
	}

	/**
	 * Sets WooCommerce's session cookie unless the visitor already has a
	 * session, so that the notices and the cart of this request are saved
	 * and shown on the page the redirect leads to.
	 *
	 * @return void
	 */
	private function start_session() {
		$session = WC()->session;
		if ( is_object( $session ) && method_exists( $session, 'set_customer_session_cookie' ) && ! $session->has_session() ) {
			$session->set_customer_session_cookie( true );
		}
	}

	/**
	 * Whether the client has used up its failed lookups (RATE_LIMIT per
	 * RATE_WINDOW).
	 *
	 * @return bool
	 */
	private function rate_limited() {
		$key = $this->rate_key();
		if ( '' === $key ) {
			return false;
		}
		$bucket = $this->rate_bucket( $key );
		return (int) $bucket['count'] >= $this->rate_limit();
	}

	/**
	 * Counts a failed lookup against the client.
	 *
	 * The counts are transients keyed by a keyed hash of the address, so
	 * the options table holds no addresses. It is a soft limit: two
	 * requests at the same moment may both read the same count.
	 *
	 * @return void
	 */
	private function count_failed_lookup() {
		$key = $this->rate_key();
		if ( '' === $key ) {
			return;
		}
		$now    = (int) call_user_func( $this->clock );
		$bucket = $this->rate_bucket( $key );
		++$bucket['count'];
		set_transient( $key, $bucket, max( 1, self::RATE_WINDOW - ( $now - (int) $bucket['start'] ) ) );
	}

	/**
	 * The client's count of failed lookups in the current window.
	 *
	 * @param string $key Transient name.
	 * @return array{start:int,count:int}
	 */
	private function rate_bucket( $key ) {
		$now    = (int) call_user_func( $this->clock );
		$bucket = get_transient( $key );
		if ( ! is_array( $bucket ) || ! isset( $bucket['start'], $bucket['count'] ) || $now - (int) $bucket['start'] >= self::RATE_WINDOW ) {
			$bucket = array(
				'start' => $now,
				'count' => 0,
			);
		}
		return $bucket;
	}

	/**
	 * How many failed lookups a client may make per RATE_WINDOW; 0 or less
	 * turns the limit off.
	 *
	 * @return int
	 */
	private function rate_limit() {
		/**
		 * Filters how many failed restore lookups (malformed, unknown or
		 * expired tokens) a client may make in ten minutes before its
		 * links are no longer looked up; 0 turns the limit off.
		 *
		 * @param int $limit Failed lookups, 20 by default.
		 */
		return (int) apply_filters( 'cartback_restore_rate_limit', self::RATE_LIMIT );
	}

	/**
	 * The transient the client's failed lookups are counted in; '' when
	 * they are not counted.
	 *
	 * @return string
	 */
	private function rate_key() {
		if ( $this->rate_limit() <= 0 ) {
			return '';
		}
		$ip = isset( $_SERVER['REMOTE_ADDR'] ) ? sanitize_text_field( wp_unslash( $_SERVER['REMOTE_ADDR'] ) ) : '';
		/**
		 * Filters the client IP address restore lookups are counted by.
		 *
		 * REMOTE_ADDR by default. Behind a proxy or CDN that does not pass
		 * on the client's address in REMOTE_ADDR, every shopper shares the
		 * proxy's: return the client's address from a header the proxy sets
		 * and the client cannot.
		 *
		 * @param string $ip The address.
		 */
		$ip = trim( (string) apply_filters( 'cartback_restore_client_ip', $ip ) );
		if ( '' === $ip ) {
			return '';
		}
		return 'cartback_restore_' . wp_hash( self::client_network( $ip ) );
	}

	/**
	 * What a client's lookups are counted by: an IPv4 address, or the /64
	 * network of an IPv6 address, since one subscriber commonly gets a
	 * whole /64 and could otherwise take a new address for every lookup. An
	 * IPv4 address written as IPv6 (::ffff:203.0.113.7) is that IPv4
	 * address.
	 *
	 * @param string $ip IP address.
	 * @return string
	 */
	public static function client_network( $ip ) {
		$ip = strtolower( trim( (string) $ip ) );
		if ( false === filter_var( $ip, FILTER_VALIDATE_IP, FILTER_FLAG_IPV6 ) || ! function_exists( 'inet_pton' ) || ! function_exists( 'inet_ntop' ) ) {
			return $ip;
		}
		$packed = inet_pton( $ip );
		if ( false === $packed || 16 !== strlen( $packed ) ) {
			return $ip;
		}
		if ( str_repeat( "\0", 10 ) . "\xff\xff" === substr( $packed, 0, 12 ) ) {
			return (string) inet_ntop( substr( $packed, 12 ) );
		}
		return inet_ntop( substr( $packed, 0, 8 ) . str_repeat( "\0", 8 ) ) . '/64';
	}

	/**
	 * Fills the cart from cartback's answer. A guest's cart is replaced by
	 * the link's (it is the shopper's own cart, back in this browser). A
	 * signed-in customer's cart is only added to, and keeps its key and
	 * the account's email: a link someone else forwarded must not take over
	 * their cart or the address their order confirmation goes to.
	 *
	 * @param array $cart cartback's answer: cart_key, email, coupon, items.
	 * @return int How many lines were added.
	 */
	public function rebuild( array $cart ) {
		$wc        = WC();
		$signed_in = is_user_logged_in();
		if ( ! $signed_in ) {
			$wc->cart->empty_cart();
			if ( ! empty( $cart['cart_key'] ) && is_string( $cart['cart_key'] ) ) {
				$this->capture->adopt_cart_key( $cart['cart_key'] );
			}
		}

		$added = 0;
		foreach ( $cart['items'] as $item ) {
			if ( is_array( $item ) && $this->add_item( $item ) ) {
				++$added;
			}
		}

		$coupon = isset( $cart['coupon'] ) ? trim( (string) $cart['coupon'] ) : '';
		if ( $added > 0 && '' !== $coupon && ! $wc->cart->has_discount( wc_format_coupon_code( $coupon ) ) ) {
			$wc->cart->apply_coupon( $coupon );
		}

		$email = isset( $cart['email'] ) ? sanitize_email( (string) $cart['email'] ) : '';
		if ( ! $signed_in && '' !== $email && is_email( $email ) && is_object( $wc->customer ) && '' === (string) $wc->customer->get_billing_email() ) {
			$wc->customer->set_billing_email( $email );
			$wc->customer->save();
		}
		$wc->cart->calculate_totals();
		return $added;
	}

	/**
	 * Adds one line; a product that is gone or out of stock is skipped with
	 * a notice.
	 *
	 * @param array $item product_id, variation_id, quantity, attributes.
	 * @return bool Whether it was added.
	 */
	private function add_item( array $item ) {
		$product_id   = isset( $item['product_id'] ) ? absint( $item['product_id'] ) : 0;
		$variation_id = isset( $item['variation_id'] ) ? absint( $item['variation_id'] ) : 0;
		$quantity     = isset( $item['quantity'] ) ? max( 1, (int) $item['quantity'] ) : 1;
		$attributes   = array();
		if ( isset( $item['attributes'] ) && is_array( $item['attributes'] ) ) {
			foreach ( $item['attributes'] as $name => $value ) {
				$name = sanitize_title( (string) $name );
				if ( 0 !== strpos( $name, 'attribute_' ) ) {
					$name = 'attribute_' . $name;
				}
				$attributes[ $name ] = sanitize_text_field( (string) $value );
			}
		}

		$product = wc_get_product( $variation_id ? $variation_id : $product_id );
		if ( ! $product || ! $product->exists() || 'publish' !== $product->get_status() || ! $product->is_purchasable() ) {
			wc_add_notice( __( 'A product in your cart is no longer available and was left out.', 'cartback-for-woocommerce' ), 'notice' );
			return false;
		}
		if ( ! $product->is_in_stock() ) {
			/* translators: %s: product name */
			wc_add_notice( sprintf( __( '&quot;%s&quot; is out of stock and was left out of your cart.', 'cartback-for-woocommerce' ), esc_html( $product->get_name() ) ), 'notice' );
			return false;
		}
		return (bool) WC()->cart->add_to_cart( $product_id, $quantity, $variation_id, $attributes );
	}

	/**
	 * Where the shopper goes when nothing is restored: the cart if it holds
	 * something, else the shop.
	 *
	 * @return string
	 */
	private function fallback_url() {
		$wc = WC();
		if ( isset( $wc->cart ) && is_object( $wc->cart ) && ! $wc->cart->is_empty() ) {
			return wc_get_cart_url();
		}
		$shop = wc_get_page_permalink( 'shop' );
		return $shop ? $shop : home_url( '/' );
	}

	/**
	 * Ends the request after the redirect.
	 *
	 * @return void
	 */
	protected function stop() {
		exit;
	}
}
