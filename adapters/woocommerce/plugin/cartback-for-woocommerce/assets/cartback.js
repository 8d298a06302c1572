/**
 * cartback for WooCommerce.
 *
 * Marks the browser as one that runs scripts, so that carts of crawlers are
 * not sent, and on the classic checkout refreshes the order review when the
 * email address or phone number changes, which hands them to the plugin.
 */
( function () {
	'use strict';

	document.cookie = 'cartback_js=1; path=/; max-age=31536000; SameSite=Lax' +
		( window.location.protocol === 'https:' ? '; Secure' : '' );

	if ( typeof window.jQuery === 'undefined' ) {
		return;
	}
	window.jQuery( function ( $ ) {
		$( 'form.checkout' ).on( 'change', '#billing_email, #billing_phone', function () {
			$( document.body ).trigger( 'update_checkout' );
		} );
	} );
}() );
