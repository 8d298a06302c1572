<?php
/**
 * Single-use coupons that cartback creates for its reminders.
 *
 * @package Cartback
 */

defined( 'ABSPATH' ) || exit;

/**
 * The signed REST route POST /wp-json/cartback/v1/coupons and the daily
 * clean-up of expired coupons.
 */
class Cartback_Coupons {

	const REST_NAMESPACE = 'cartback/v1';
	const REST_ROUTE     = '/coupons';
	const SIGNED_PATH    = '/wp-json/cartback/v1/coupons';
	const META           = '_cartback_coupon';
	const CRON_HOOK      = 'cartback_delete_expired_coupons';

	/**
	 * Returns the time in Unix seconds.
	 *
	 * @var callable
	 */
	private $clock;

	/**
	 * Constructor.
	 *
	 * @param callable|null $clock Returns Unix seconds; time() by default.
	 */
	public function __construct( $clock = null ) {
		$this->clock = $clock ? $clock : 'time';
	}

	/**
	 * Hooks into WordPress.
	 *
	 * @return void
	 */
	public function register() {
		add_action( 'rest_api_init', array( $this, 'register_route' ) );
		add_action( self::CRON_HOOK, array( $this, 'delete_expired' ) );
	}

	/**
	 * Registers the route.
	 *
	 * @return void
	 */
	public function register_route() {
		register_rest_route(
			self::REST_NAMESPACE,
			self::REST_ROUTE,
			array(
				'methods'             => 'POST',
				'callback'            => array( $this, 'create' ),
				'permission_callback' => array( $this, 'check_signature' ),
			)
		);
	}

	/**
	 * Lets only requests cartback signed through, each once: the
	 * X-Cartback-* headers over POST, /wp-json/cartback/v1/coupons and the
	 * body. A signature already used is refused for as long as it could
	 * still verify, so a request seen in a log cannot be sent again.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return true|WP_Error
	 */
	public function check_signature( $request ) {
		$signature = trim( (string) $request->get_header( 'x_cartback_signature' ) );
		$ok        = Cartback_Signer::verify_request_body(
			'POST',
			self::SIGNED_PATH,
			(string) $request->get_header( 'x_cartback_timestamp' ),
			$signature,
			(string) $request->get_body(),
			Cartback_Settings::secret(),
			(int) call_user_func( $this->clock )
		);
		if ( ! $ok ) {
			return new WP_Error( 'cartback_invalid_signature', __( 'Invalid request signature.', 'cartback-for-woocommerce' ), array( 'status' => 401 ) );
		}
		$seen = 'cartback_sig_' . md5( $signature );
		if ( false !== get_transient( $seen ) ) {
			return new WP_Error( 'cartback_replayed', __( 'This request was already received.', 'cartback-for-woocommerce' ), array( 'status' => 409 ) );
		}
		set_transient( $seen, 1, 2 * Cartback_Signer::MAX_SKEW );
		return true;
	}

	/**
	 * Creates a single-use coupon from
	 * {"code","percent"|"amount","expires_at","email"}.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public function create( $request ) {
		$in = $request->get_json_params();
		if ( ! is_array( $in ) ) {
			return self::invalid( __( 'The body must be a JSON object.', 'cartback-for-woocommerce' ) );
		}
		$code = isset( $in['code'] ) ? trim( (string) $in['code'] ) : '';
		if ( ! preg_match( '/^[A-Za-z0-9_-]{3,64}$/', $code ) ) {
			return self::invalid( __( 'code: 3 to 64 letters, digits, "-" or "_".', 'cartback-for-woocommerce' ) );
		}

		if ( isset( $in['percent'] ) && ! isset( $in['amount'] ) ) {
			$type   = 'percent';
			$amount = is_numeric( $in['percent'] ) ? (float) $in['percent'] : 0.0;
			if ( $amount <= 0 || $amount > 100 ) {
				return self::invalid( __( 'percent: must be more than 0 and at most 100.', 'cartback-for-woocommerce' ) );
			}
		} elseif ( isset( $in['amount'] ) && ! isset( $in['percent'] ) ) {
			$type   = 'fixed_cart';
			$amount = is_string( $in['amount'] ) && preg_match( '/^\d+(\.\d+)?$/', $in['amount'] ) ? (float) $in['amount'] : 0.0;
			if ( $amount <= 0 ) {
				return self::invalid( __( 'amount: must be a positive decimal string such as "5.00".', 'cartback-for-woocommerce' ) );
			}
		} else {
			return self::invalid( __( 'Give either percent or amount.', 'cartback-for-woocommerce' ) );
		}

		$expires = isset( $in['expires_at'] ) ? self::parse_time( (string) $in['expires_at'] ) : null;
		if ( null === $expires || $expires <= (int) call_user_func( $this->clock ) ) {
			return self::invalid( __( 'expires_at: must be an RFC 3339 time in the future.', 'cartback-for-woocommerce' ) );
		}

		$email = isset( $in['email'] ) ? trim( (string) $in['email'] ) : '';
		if ( '' !== $email && ! is_email( $email ) ) {
			return self::invalid( __( 'email: not an email address.', 'cartback-for-woocommerce' ) );
		}

		$existing = wc_get_coupon_id_by_code( $code );
		if ( $existing ) {
			$coupon = new WC_Coupon( $existing );
			if ( 'yes' !== $coupon->get_meta( self::META ) ) {
				return new WP_Error( 'cartback_coupon_exists', __( 'A coupon with this code already exists.', 'cartback-for-woocommerce' ), array( 'status' => 409 ) );
			}
			// A retry of a request that already succeeded.
			return new WP_REST_Response( self::describe( $coupon ), 200 );
		}

		$coupon = new WC_Coupon();
		$coupon->set_code( $code );
		$coupon->set_discount_type( $type );
		$coupon->set_amount( $amount );
		$coupon->set_usage_limit( 1 );
		$coupon->set_usage_limit_per_user( 1 );
		$coupon->set_individual_use( true );
		$coupon->set_date_expires( $expires );
		if ( '' !== $email ) {
			$coupon->set_email_restrictions( array( $email ) );
		}
		$coupon->set_description( __( 'Created by cartback for a cart reminder.', 'cartback-for-woocommerce' ) );
		$coupon->update_meta_data( self::META, 'yes' );
		$coupon->save();
		return new WP_REST_Response( self::describe( $coupon ), 201 );
	}

	/**
	 * Deletes expired coupons the plugin created, a batch a day.
	 *
	 * @return int How many were deleted.
	 */
	public function delete_expired() {
		$ids = get_posts(
			array(
				'post_type'      => 'shop_coupon',
				'post_status'    => 'any',
				'fields'         => 'ids',
				'posts_per_page' => 500,
				'no_found_rows'  => true,
				// phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_query -- once a day.
				'meta_query'     => array(
					array(
						'key'   => self::META,
						'value' => 'yes',
					),
					array(
						'key'     => 'date_expires',
						'value'   => (int) call_user_func( $this->clock ),
						'compare' => '<',
						'type'    => 'NUMERIC',
					),
				),
			)
		);
		$deleted = 0;
		foreach ( $ids as $id ) {
			if ( wp_delete_post( (int) $id, true ) ) {
				++$deleted;
			}
		}
		return $deleted;
	}

	/**
	 * Schedules the daily clean-up.
	 *
	 * @return void
	 */
	public static function schedule() {
		if ( ! wp_next_scheduled( self::CRON_HOOK ) ) {
			wp_schedule_event( time() + HOUR_IN_SECONDS, 'daily', self::CRON_HOOK );
		}
	}

	/**
	 * Stops the daily clean-up.
	 *
	 * @return void
	 */
	public static function unschedule() {
		wp_clear_scheduled_hook( self::CRON_HOOK );
	}

	/**
	 * Unix seconds of an RFC 3339 time, or null.
	 *
	 * @param string $value Time.
	 * @return int|null
	 */
	private static function parse_time( $value ) {
		if ( ! preg_match( '/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i', $value ) ) {
			return null;
		}
		$time = strtotime( $value );
		return false === $time ? null : $time;
	}

	/**
	 * The answer describing a coupon.
	 *
	 * @param WC_Coupon $coupon Coupon.
	 * @return array
	 */
	private static function describe( $coupon ) {
		$expires = $coupon->get_date_expires();
		return array(
			'id'         => (int) $coupon->get_id(),
			'code'       => (string) $coupon->get_code(),
			'expires_at' => $expires ? gmdate( 'Y-m-d\TH:i:s\Z', is_object( $expires ) ? $expires->getTimestamp() : (int) $expires ) : null,
		);
	}

	/**
	 * A 400 answer.
	 *
	 * @param string $message What is wrong.
	 * @return WP_Error
	 */
	private static function invalid( $message ) {
		return new WP_Error( 'cartback_invalid_coupon', $message, array( 'status' => 400 ) );
	}
}
