"""Static storefront and dashboard (plain HTML/CSS/JS, every asset local), served by ``shopmind.api``."""
