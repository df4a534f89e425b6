"""Help-centre pages of the synthetic shop, in English and Chinese, with concrete policy facts.

The facts come from :class:`ShopConfig` (return window, free-shipping threshold) or are fixed here,
so that an assistant grounded on these pages can be tested against known answers, e.g. "Returns are
accepted within 30 days of delivery" / "自签收之日起30天内可申请退货".
"""

from __future__ import annotations

from typing import Any

from shopmind.datasets.synthetic.config import ShopConfig
from shopmind.datasets.synthetic.vocab import CARRIERS_EN


def help_documents(config: ShopConfig) -> list[dict[str, Any]]:
    """Documents as dicts with :class:`~shopmind.data.schema.Document` fields."""
    rd = config.return_days
    fs = f"{config.free_shipping_threshold:.0f}"
    en_carriers = ", ".join(CARRIERS_EN)
    zh_carriers = "、".join(["顺丰速运", "京东物流", "中通快递", "圆通速递"])
    pages: list[tuple[str, list[str], str, str, str, str]] = [
        (
            "shipping",
            ["shipping", "delivery"],
            "Shipping and delivery",
            f"Standard shipping is free on orders over ${fs}; below that it costs $5.99. Standard delivery "
            "takes 3-5 business days. Express delivery takes 1-2 business days and costs $12.99. Orders placed "
            "before 2 pm (UTC) on a business day ship the same day. We ship to the United States, Canada, "
            "the United Kingdom, the European Union, Australia, Singapore, Hong Kong, Taiwan and mainland "
            "China. International orders may take 7-14 business days and import duties are paid by the customer.",
            "配送说明",
            f"订单满{fs}美元免运费，不满{fs}美元收取5.99美元运费。标准配送需要3-5个工作日，加急配送需要1-2个工作日，"
            "运费12.99美元。工作日下午2点（UTC）前下单当天发货。我们配送至美国、加拿大、英国、欧盟、澳大利亚、"
            "新加坡、香港、台湾和中国大陆。国际订单需要7-14个工作日，进口关税由顾客承担。",
        ),
        (
            "returns",
            ["returns", "refund"],
            "Returns and refunds",
            f"Returns are accepted within {rd} days of delivery. Items must be unused and in their original "
            "packaging. Start a return from Orders > Return item; we email a prepaid return label. Return "
            "shipping is free for defective or wrong items; otherwise $4.99 is deducted from the refund. "
            "Refunds go back to the original payment method within 5-7 business days after we receive the "
            "item. Opened cosmetics, underwear, socks and food cannot be returned for hygiene reasons.",
            "退货与退款",
            f"自签收之日起{rd}天内可申请退货。商品须未使用并保留原包装。在“我的订单 > 申请退货”中发起退货，"
            "我们会通过邮件发送预付退货面单。商品有质量问题或发错货时退货运费全免，其他情况从退款中扣除4.99美元。"
            "我们收到退货后5-7个工作日内原路退款。出于卫生原因，已拆封的化妆品、内衣、袜子和食品不支持退货。",
        ),
        (
            "exchanges",
            ["returns", "exchange", "size"],
            "Exchanges and size changes",
            f"You can exchange clothing and shoes for a different size or colour within {rd} days of delivery, "
            "free of charge, as long as the item is unworn with tags attached. Start an exchange from "
            "Orders > Exchange. If the new size is out of stock we refund you instead.",
            "换货与换尺码",
            f"服装和鞋类在签收后{rd}天内可免费更换尺码或颜色，商品须未穿着且吊牌完好。在“我的订单 > 申请换货”中操作。"
            "如果新尺码缺货，我们将为您办理退款。",
        ),
        (
            "payment",
            ["payment"],
            "Payment methods",
            "We accept Visa, Mastercard, American Express, PayPal, Apple Pay, Alipay and WeChat Pay. Prices are "
            "in US dollars. Your card is charged when the order is placed. We never store your full card "
            "number. If a payment fails, check the billing address and try again or use another method.",
            "支付方式",
            "我们支持Visa、万事达卡、美国运通、PayPal、Apple Pay、支付宝和微信支付。商品价格以美元计价，"
            "下单时即扣款。我们不会保存您的完整卡号。支付失败时请核对账单地址后重试，或更换支付方式。",
        ),
        (
            "warranty",
            ["warranty", "electronics"],
            "Warranty",
            "All electronics come with a 1-year manufacturer warranty from the date of delivery. You can buy a "
            "2-year extended warranty at checkout for 10% of the item price. The warranty covers manufacturing "
            "defects, not accidental damage or water damage. To make a claim, contact support with your order "
            "number and a photo or video of the fault.",
            "保修政策",
            "所有电子产品自签收之日起享受1年厂商保修。结账时可按商品价格的10%购买2年延保。保修范围为产品本身的质量问题，"
            "不包括意外损坏和进水。申请保修请联系客服并提供订单号以及故障照片或视频。",
        ),
        (
            "order-tracking",
            ["orders", "tracking", "delivery"],
            "Tracking your order",
            f"When your order ships we email you the carrier and tracking number. We ship with {en_carriers} "
            "(and SF Express, JD Logistics, ZTO and YTO within China). You can also see the status under "
            "Orders: pending, paid, shipped, delivered, cancelled, return requested or returned. Tracking "
            "information can take up to 24 hours to appear on the carrier's website.",
            "订单查询与物流跟踪",
            f"订单发货后，我们会通过邮件告知承运商和运单号。国内订单由{zh_carriers}配送，国际订单使用UPS、FedEx、DHL和USPS。"
            "您也可以在“我的订单”中查看状态：待付款、已付款、已发货、已签收、已取消、退货申请中、已退货。"
            "物流信息可能需要最多24小时才会在承运商网站上显示。",
        ),
        (
            "cancel-order",
            ["orders", "cancellation"],
            "Cancelling or changing an order",
            "You can cancel an order free of charge until it ships: open Orders and choose Cancel order. Once an "
            "order has shipped it cannot be cancelled; please return it after delivery instead. The shipping "
            "address can be changed within 1 hour of placing the order.",
            "取消或修改订单",
            "订单发货前可以免费取消：在“我的订单”中选择“取消订单”。订单一旦发货便无法取消，请在签收后申请退货。"
            "下单后1小时内可以修改收货地址。",
        ),
        (
            "account",
            ["account", "password"],
            "Your account",
            "To reset your password, choose Forgot password on the sign-in page; the reset link is valid for "
            "30 minutes. You can change your e-mail address and shipping addresses under Account settings. "
            "Guest checkout is possible, but an account lets you track orders and returns.",
            "账户管理",
            "忘记密码时，在登录页点击“忘记密码”，重置链接30分钟内有效。您可以在“账户设置”中修改邮箱和收货地址。"
            "支持游客下单，但注册账户后可以跟踪订单和退货进度。",
        ),
        (
            "privacy",
            ["privacy", "account", "data"],
            "Privacy",
            "We never sell your personal data. We use your purchase and browsing history only to run the shop "
            "and to personalise recommendations, which you can switch off under Account settings > Privacy. You "
            "can download your data or delete your account at any time; deletion is completed within 30 days.",
            "隐私政策",
            "我们绝不出售您的个人数据。您的购买和浏览记录仅用于店铺运营和个性化推荐，您可以在“账户设置 > 隐私”中关闭个性化推荐。"
            "您可以随时下载个人数据或注销账户，注销将在30天内完成。",
        ),
        (
            "price-match",
            ["price", "promotions"],
            "Price protection and promotions",
            "If the price of an item you bought drops within 14 days, contact support and we refund the "
            "difference once per order. Promotional codes cannot be combined, and do not apply to gift cards. "
            "Big sales happen on 6.18, Singles' Day (11.11) and Black Friday.",
            "价格保护与促销",
            "购买后14天内商品降价，联系客服即可退还差价，每个订单限一次。优惠码不可叠加使用，不适用于礼品卡。"
            "大促活动在6.18、双十一（11.11）和黑色星期五。",
        ),
        (
            "gift-cards",
            ["gift cards", "payment"],
            "Gift cards",
            "Gift cards are available from $10 to $500 and are valid for 3 years. They cannot be exchanged for "
            "cash. Enter the gift card code at checkout; any remaining balance stays on the card.",
            "礼品卡",
            "礼品卡面额从10美元到500美元，有效期3年，不可兑换现金。结账时输入礼品卡代码即可使用，余额保留在卡内。",
        ),
        (
            "contact",
            ["contact", "support"],
            "Contact customer service",
            "Our support team is available every day from 8:00 to 22:00 (UTC+8) by live chat and e-mail at "
            "support@shopmind-demo.example. We answer e-mails within 24 hours. For order questions, please "
            "have your order number and the e-mail address used for the order ready.",
            "联系客服",
            "客服团队每天8:00至22:00（北京时间）通过在线客服和邮箱 support@shopmind-demo.example 为您服务，"
            "邮件将在24小时内回复。咨询订单问题时，请准备好订单号和下单邮箱。",
        ),
    ]
    docs: list[dict[str, Any]] = []
    for slug, tags, title_en, body_en, title_zh, body_zh in pages:
        docs.append(
            {
                "id": f"help-{slug}-en",
                "title": title_en,
                "body": body_en,
                "language": "en",
                "tags": tags,
                "url": f"/help/en/{slug}",
            }
        )
        docs.append(
            {
                "id": f"help-{slug}-zh",
                "title": title_zh,
                "body": body_zh,
                "language": "zh",
                "tags": tags,
                "url": f"/help/zh/{slug}",
            }
        )
    return docs
