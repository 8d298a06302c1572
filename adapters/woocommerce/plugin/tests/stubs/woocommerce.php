<?php
/**
 * Small fakes of the WooCommerce functions and classes the plugin calls.
 *
 * @package Cartback\Tests
 */

// phpcs:disable

class WooCommerce {
	/** @var WC_Cart */
	public $cart;
	/** @var WC_Session_Fake|null */
	public $session;
	/** @var WC_Customer */
	public $customer;
	/** @var WooCommerce|null */
	public static $instance;

	public function __construct() {
		$this->cart     = new WC_Cart();
		$this->session  = new WC_Session_Fake();
		$this->customer = new WC_Customer();
	}
}

function WC() {
	if ( ! WooCommerce::$instance ) {
		WooCommerce::$instance = new WooCommerce();
	}
	return WooCommerce::$instance;
}

/** Products by id, for wc_get_product(). */
class WC_Fake_Catalog {
	/** @var array<int,WC_Product> */
	public static $products = array();
	/** @var array<int,WC_Coupon> */
	public static $coupons = array();
	/** @var array<int,WC_Webhook> */
	public static $webhooks = array();
	/** @var array<string,string> Labels of global attributes by taxonomy (pa_color => Color). */
	public static $attribute_labels = array();
	public static function reset() {
		self::$products = self::$coupons = self::$webhooks = self::$attribute_labels = array();
		WooCommerce::$instance = null;
		WC_Admin_Settings::$errors = array();
	}
}

function wc_get_product( $id ) {
	return isset( WC_Fake_Catalog::$products[ $id ] ) ? WC_Fake_Catalog::$products[ $id ] : false;
}

class WC_Product {
	public $props;
	public function __construct( array $props ) {
		$this->props = array_merge(
			array(
				'id'          => 0,
				'parent_id'   => 0,
				'name'        => '',
				'sku'         => '',
				'price'       => 0.0,
				'tax_rate'    => 0.0,
				'status'      => 'publish',
				'in_stock'    => true,
				'purchasable' => true,
				'image_id'    => 0,
				'permalink'   => '',
				// The product's own attributes: sanitised name => label.
				'attributes'  => array(),
			),
			$props
		);
	}
	public function get_id() { return $this->props['id']; }
	public function get_parent_id() { return $this->props['parent_id']; }
	public function get_name() { return $this->props['name']; }
	public function get_sku() { return $this->props['sku']; }
	public function get_status() { return $this->props['status']; }
	public function exists() { return true; }
	public function is_in_stock() { return $this->props['in_stock']; }
	public function is_purchasable() { return $this->props['purchasable']; }
	public function get_image_id() { return $this->props['image_id']; }
	public function get_permalink( $item = null ) {
		$url = $this->props['permalink'];
		if ( is_array( $item ) && ! empty( $item['variation'] ) ) {
			$url .= '?' . http_build_query( $item['variation'], '', '&', PHP_QUERY_RFC3986 );
		}
		return $url;
	}
}

class WC_Cart {
	/** @var array<string,array> */
	public $cart_contents = array();
	/** @var string[] */
	public $applied_coupons = array();
	/** @var bool */
	public $prices_include_tax = true;
	/** @var array<string,float> */
	public $totals = array(
		'subtotal'     => 0.0,
		'subtotal_tax' => 0.0,
		'discount'     => 0.0,
		'discount_tax' => 0.0,
		'shipping'     => 0.0,
		'shipping_tax' => 0.0,
		'total_tax'    => 0.0,
		'total'        => 0.0,
	);
	/** @var string[] Codes apply_coupon() accepts. */
	public static $valid_coupons = array();

	public function get_cart() { return $this->cart_contents; }
	public function is_empty() { return 0 === count( $this->cart_contents ); }
	public function empty_cart( $clear_persistent_cart = true ) {
		$this->cart_contents   = array();
		$this->applied_coupons = array();
		do_action( 'woocommerce_cart_emptied', $clear_persistent_cart );
	}
	/**
	 * Adds a line; prices are tax-inclusive, split by the product's tax_rate.
	 */
	public function add_to_cart( $product_id = 0, $quantity = 1, $variation_id = 0, $variation = array(), $cart_item_data = array() ) {
		$product = wc_get_product( $variation_id ? $variation_id : $product_id );
		if ( ! $product || ! $product->is_purchasable() || ! $product->is_in_stock() ) {
			return false;
		}
		$key   = md5( $product_id . '/' . $variation_id . '/' . serialize( $variation ) );
		$gross = $product->props['price'] * $quantity;
		$net   = round( $gross / ( 1 + $product->props['tax_rate'] ), 2 );
		$this->cart_contents[ $key ] = array(
			'key'               => $key,
			'product_id'        => (int) $product_id,
			'variation_id'      => (int) $variation_id,
			'variation'         => $variation,
			'quantity'          => (int) $quantity,
			'data'              => $product,
			'line_subtotal'     => $net,
			'line_subtotal_tax' => round( $gross - $net, 2 ),
		);
		do_action( 'woocommerce_add_to_cart', $key, $product_id, $quantity, $variation_id, $variation, $cart_item_data );
		return $key;
	}
	public function set_quantity( $key, $quantity ) {
		$item    = $this->cart_contents[ $key ];
		$product = $item['data'];
		$gross   = $product->props['price'] * $quantity;
		$net     = round( $gross / ( 1 + $product->props['tax_rate'] ), 2 );
		$this->cart_contents[ $key ]['quantity']          = $quantity;
		$this->cart_contents[ $key ]['line_subtotal']     = $net;
		$this->cart_contents[ $key ]['line_subtotal_tax'] = round( $gross - $net, 2 );
		do_action( 'woocommerce_after_cart_item_quantity_update', $key, $quantity );
		return true;
	}
	public function apply_coupon( $code ) {
		$code = wc_format_coupon_code( $code );
		if ( ! in_array( $code, self::$valid_coupons, true ) ) {
			wc_add_notice( 'Coupon "' . $code . '" does not exist!', 'error' );
			return false;
		}
		$this->applied_coupons[] = $code;
		return true;
	}
	public function has_discount( $code ) { return in_array( $code, $this->applied_coupons, true ); }
	public function get_applied_coupons() { return $this->applied_coupons; }
	public function calculate_totals() {}
	public function display_prices_including_tax() { return $this->prices_include_tax; }
	public function get_subtotal() { return $this->totals['subtotal']; }
	public function get_subtotal_tax() { return $this->totals['subtotal_tax']; }
	public function get_discount_total() { return $this->totals['discount']; }
	public function get_discount_tax() { return $this->totals['discount_tax']; }
	public function get_shipping_total() { return $this->totals['shipping']; }
	public function get_shipping_tax() { return $this->totals['shipping_tax']; }
	public function get_total_tax() { return $this->totals['total_tax']; }
	public function get_total( $context = 'view' ) { return $this->totals['total']; }
}

class WC_Session_Fake {
	public $data = array();
	public $customer_id = 't_5f3c9a1e8d2b47c0a6e4f1b2c3d4e5f6';
	public $has_session = true;
	public $cookie_set = false;
	public function get( $key, $default = null ) { return array_key_exists( $key, $this->data ) ? $this->data[ $key ] : $default; }
	public function set( $key, $value ) { $this->data[ $key ] = $value; }
	public function get_customer_id() { return $this->customer_id; }
	public function has_session() { return $this->has_session; }
	public function set_customer_session_cookie( $set ) {
		$this->cookie_set  = (bool) $set;
		$this->has_session = true;
	}
}

/** What the plugin uses of WC_Data: meta. */
class WC_Data {
	public $meta = array();
	public function update_meta_data( $key, $value ) { $this->meta[ $key ] = $value; }
	public function get_meta( $key = '', $single = true, $context = 'view' ) { return isset( $this->meta[ $key ] ) ? $this->meta[ $key ] : ''; }
}

class WC_Customer extends WC_Data {
	public $props = array(
		'email'              => '',
		'first_name'         => '',
		'last_name'          => '',
		'billing_email'      => '',
		'billing_phone'      => '',
		'billing_first_name' => '',
		'billing_last_name'  => '',
		'billing_country'    => '',
	);
	public $saved = 0;
	public function __call( $name, $args ) {
		if ( 0 === strpos( $name, 'get_' ) ) {
			return $this->props[ substr( $name, 4 ) ];
		}
		if ( 0 === strpos( $name, 'set_' ) ) {
			$this->props[ substr( $name, 4 ) ] = $args[0];
			return null;
		}
		throw new BadMethodCallException( $name );
	}
	public function save() { ++$this->saved; }
}

class WC_Order extends WC_Data {
	public $id;
	public function __construct( $id = 1 ) { $this->id = $id; }
	public function get_id() { return $this->id; }
}

function wc_sanitize_taxonomy_name( $taxonomy ) { return urldecode( sanitize_title( urldecode( (string) $taxonomy ) ) ); }
function wc_attribute_taxonomy_name( $attribute_name ) {
	return $attribute_name ? 'pa_' . wc_sanitize_taxonomy_name( $attribute_name ) : '';
}
/** As WooCommerce: a global attribute's label, else the product's (its parent's, for a variation), else the name. */
function wc_attribute_label( $name, $product = '' ) {
	if ( isset( WC_Fake_Catalog::$attribute_labels[ $name ] ) ) {
		$label = WC_Fake_Catalog::$attribute_labels[ $name ];
	} elseif ( $product ) {
		$parent = $product->get_parent_id() ? wc_get_product( $product->get_parent_id() ) : $product;
		$own    = $parent ? $parent->props['attributes'] : array();
		$label  = isset( $own[ sanitize_title( $name ) ] ) ? $own[ sanitize_title( $name ) ] : $name;
	} else {
		$label = $name;
	}
	return apply_filters( 'woocommerce_attribute_label', $label, $name, $product );
}
/** WooCommerce's own test: " Black," inside the name, or " M" at its end. */
function wc_is_attribute_in_product_name( $attribute, $name ) {
	$is_in_name = stristr( $name, ' ' . $attribute . ',' ) || 0 === stripos( strrev( $name ), strrev( ' ' . $attribute ) );
	return apply_filters( 'woocommerce_is_attribute_in_product_name', $is_in_name, $attribute, $name );
}
function wc_format_coupon_code( $code ) { return strtolower( trim( (string) $code ) ); }
function wc_get_price_decimals() { return (int) get_option( 'woocommerce_price_num_decimals', 2 ); }
/** As WooCommerce, where multi-currency plugins filter it. */
function get_woocommerce_currency() { return (string) apply_filters( 'woocommerce_currency', get_option( 'woocommerce_currency', 'USD' ) ); }
function wc_add_notice( $message, $type = 'success' ) { CB_Stub::$notices[] = array( $type, $message ); }
function wc_get_checkout_url() { return 'https://store.example/checkout/'; }
function wc_get_cart_url() { return 'https://store.example/cart/'; }
function wc_get_page_permalink( $page ) { return 'https://store.example/' . $page . '/'; }

class WC_Coupon {
	public $id = 0;
	public $props = array(
		'code'                 => '',
		'discount_type'        => 'fixed_cart',
		'amount'               => 0,
		'usage_limit'          => 0,
		'usage_limit_per_user' => 0,
		'individual_use'       => false,
		'date_expires'         => null,
		'email_restrictions'   => array(),
		'description'          => '',
	);
	public $meta = array();
	public function __construct( $id = 0 ) {
		if ( $id && isset( WC_Fake_Catalog::$coupons[ $id ] ) ) {
			$stored      = WC_Fake_Catalog::$coupons[ $id ];
			$this->id    = $stored->id;
			$this->props = $stored->props;
			$this->meta  = $stored->meta;
		}
	}
	public function get_id() { return $this->id; }
	public function set_code( $code ) { $this->props['code'] = wc_format_coupon_code( $code ); }
	public function get_code() { return $this->props['code']; }
	public function set_discount_type( $v ) { $this->props['discount_type'] = $v; }
	public function set_amount( $v ) { $this->props['amount'] = $v; }
	public function set_usage_limit( $v ) { $this->props['usage_limit'] = $v; }
	public function set_usage_limit_per_user( $v ) { $this->props['usage_limit_per_user'] = $v; }
	public function set_individual_use( $v ) { $this->props['individual_use'] = $v; }
	public function set_date_expires( $v ) { $this->props['date_expires'] = null === $v ? null : new DateTimeImmutable( '@' . $v ); }
	public function get_date_expires() { return $this->props['date_expires']; }
	public function set_email_restrictions( $v ) { $this->props['email_restrictions'] = $v; }
	public function set_description( $v ) { $this->props['description'] = $v; }
	public function update_meta_data( $k, $v ) { $this->meta[ $k ] = $v; }
	public function get_meta( $k ) { return isset( $this->meta[ $k ] ) ? $this->meta[ $k ] : ''; }
	public function save() {
		if ( ! $this->id ) {
			$this->id = 1000 + count( WC_Fake_Catalog::$coupons );
		}
		WC_Fake_Catalog::$coupons[ $this->id ] = clone $this;
		return $this->id;
	}
}

function wc_get_coupon_id_by_code( $code ) {
	foreach ( WC_Fake_Catalog::$coupons as $id => $coupon ) {
		if ( $coupon->get_code() === wc_format_coupon_code( $code ) ) {
			return $id;
		}
	}
	return 0;
}

class WC_Webhook {
	public $id = 0;
	public $props = array(
		'name'         => '',
		'user_id'      => 0,
		'topic'        => '',
		'delivery_url' => '',
		'secret'       => '',
		'status'       => 'disabled',
		'api_version'  => '',
	);
	public function __call( $name, $args ) {
		if ( 0 === strpos( $name, 'get_' ) ) {
			return $this->props[ substr( $name, 4 ) ];
		}
		if ( 0 === strpos( $name, 'set_' ) ) {
			$this->props[ substr( $name, 4 ) ] = $args[0];
			return null;
		}
		throw new BadMethodCallException( $name );
	}
	public function get_id() { return $this->id; }
	/** As WC_Webhook::deliver(): a wp_safe_remote_request() to the delivery URL. */
	public function deliver( $arg ) {
		$body = trim( wp_json_encode( array( 'id' => $arg ) ) );
		return wp_safe_remote_request(
			$this->get_delivery_url(),
			array(
				'method'      => 'POST',
				'timeout'     => 60,
				'redirection' => 0,
				'blocking'    => true,
				'body'        => $body,
				'headers'     => array(
					'Content-Type'           => 'application/json',
					'X-WC-Webhook-Topic'     => $this->get_topic(),
					'X-WC-Webhook-Signature' => base64_encode( hash_hmac( 'sha256', $body, $this->get_secret(), true ) ),
				),
			)
		);
	}
	public function delete( $force = false ) { unset( WC_Fake_Catalog::$webhooks[ $this->id ] ); return true; }
	public function save() {
		if ( ! $this->id ) {
			$this->id = 1 + count( WC_Fake_Catalog::$webhooks );
		}
		WC_Fake_Catalog::$webhooks[ $this->id ] = $this;
		return $this->id;
	}
}

function wc_get_webhook( $id ) {
	return isset( WC_Fake_Catalog::$webhooks[ $id ] ) ? WC_Fake_Catalog::$webhooks[ $id ] : null;
}

class WC_Webhook_Data_Store_Fake {
	public function search_webhooks( $args ) { return array_keys( WC_Fake_Catalog::$webhooks ); }
}

class WC_Data_Store {
	public static function load( $type ) { return new WC_Webhook_Data_Store_Fake(); }
}

/**
 * The parts of WooCommerce's settings pages the plugin uses, rendering and
 * saving text, password and url fields as WooCommerce does.
 */
class WC_Admin_Settings {
	/** @var string[] */
	public static $errors = array();

	public static function output_fields( $options ) {
		foreach ( $options as $value ) {
			if ( ! isset( $value['type'] ) ) {
				continue;
			}
			$id = isset( $value['id'] ) ? $value['id'] : '';
			if ( ! isset( $value['value'] ) ) {
				$value['value'] = get_option( $id, isset( $value['default'] ) ? $value['default'] : '' );
			}
			switch ( $value['type'] ) {
				case 'title':
				case 'sectionend':
					break;
				case 'text':
				case 'password':
				case 'url':
				case 'textarea':
					echo '<input name="' . htmlspecialchars( $id ) . '" type="' . htmlspecialchars( $value['type'] ) . '" value="' . htmlspecialchars( (string) $value['value'] ) . '" /> ';
					echo isset( $value['desc'] ) ? htmlspecialchars( $value['desc'] ) : '';
					break;
				default:
					do_action( 'woocommerce_admin_field_' . $value['type'], $value );
			}
		}
	}

	public static function save_fields( $options, $data = null ) {
		if ( is_null( $data ) ) {
			$data = $_POST;
		}
		if ( empty( $data ) ) {
			return false;
		}
		foreach ( $options as $option ) {
			if ( ! isset( $option['id'], $option['type'] ) || ( isset( $option['is_option'] ) && false === $option['is_option'] ) ) {
				continue;
			}
			$raw_value = isset( $data[ $option['id'] ] ) ? wp_unslash( $data[ $option['id'] ] ) : null;
			$value     = 'textarea' === $option['type'] ? trim( (string) $raw_value ) : sanitize_text_field( (string) $raw_value );
			$value     = apply_filters( 'woocommerce_admin_settings_sanitize_option', $value, $option, $raw_value );
			$value     = apply_filters( 'woocommerce_admin_settings_sanitize_option_' . $option['id'], $value, $option, $raw_value );
			if ( is_null( $value ) ) {
				continue;
			}
			update_option( $option['id'], $value );
		}
		return true;
	}

	public static function add_error( $text ) {
		self::$errors[] = $text;
	}
}
