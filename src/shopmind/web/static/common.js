/* shopmind web: shared helpers — API client, keys, i18n (EN/中文), safe highlighting, SVG charts.
   Plain JS, no framework, no CDN. */
"use strict";

const SM = (function () {
  const CONFIG = window.SHOPMIND_CONFIG || {};

  // ---------------------------------------------------------------- i18n
  const STRINGS = {
    en: {
      shop: "Demo shop", search_placeholder: "Search products…", search: "Search", for_you: "For you",
      trending: "Trending now", similar: "Similar items", bought_together: "Frequently bought together",
      results: "results", no_results: "No results", facets: "Refine", category: "Category", brand: "Brand",
      in_stock: "In stock", out_of_stock: "Out of stock", price: "Price", user: "Customer", guest: "Guest",
      back: "Back to results", not_available: "Not available yet (not trained)", key: "API key",
      save: "Save", read_key_needed: "Enter a read API key to browse the shop.",
      chat: "Ask us", chat_placeholder: "Ask about orders, shipping, returns…", send: "Send",
      chat_unavailable: "The assistant is not available yet.", dashboard: "Dashboard", storefront: "Storefront",
      clear: "Clear filters", description: "Description", reason: "Why", loading: "Loading…",
      status: "Status", serving_run: "Serving run", services: "Services", training: "Training",
      train_now: "Train now", rollback: "Roll back", activate: "Activate", versions: "Model versions",
      evaluation: "Evaluation", quality: "Data quality", analytics: "Search analytics", forecast: "Forecast",
      admin_key_needed: "Enter an admin API key (kept in this tab only).", run: "Run", created: "Created",
      state: "State", error: "Error", top_queries: "Top queries", zero_results: "Zero-result queries",
      ctr: "Click-through rate", item_id: "Item id", show: "Show", history: "History",
      interval: "Interval", reorder_point: "Reorder point", no_reports: "No evaluation reports yet.",
      searches: "Searches", metric: "Metric", name: "Name", components: "Components", seconds: "Seconds",
      current: "current", serving: "serving", language: "中文", clear_key: "Forget key",
      inventory: "Inventory advice", day: "day", stockout_risk: "stock-out risk",
      days_of_cover: "Days of cover", stock: "Stock", order_quantity: "Order quantity", suggested_order: "Suggested order", safety_stock: "Safety stock",
      sign_in_for_you: "Sign in to see recommendations for you.", set_aside: "Records set aside (not served until fixed)",
    },
    zh: {
      shop: "演示商店", search_placeholder: "搜索商品…", search: "搜索", for_you: "为你推荐",
      trending: "热门商品", similar: "相似商品", bought_together: "经常一起购买",
      results: "个结果", no_results: "没有结果", facets: "筛选", category: "类目", brand: "品牌",
      in_stock: "有货", out_of_stock: "缺货", price: "价格", user: "顾客", guest: "访客",
      back: "返回结果", not_available: "暂不可用（尚未训练）", key: "API 密钥",
      save: "保存", read_key_needed: "请输入只读 API 密钥以浏览商店。",
      chat: "在线客服", chat_placeholder: "咨询订单、配送、退货…", send: "发送",
      chat_unavailable: "智能客服暂不可用。", dashboard: "控制台", storefront: "商店",
      clear: "清除筛选", description: "商品描述", reason: "推荐理由", loading: "加载中…",
      status: "状态", serving_run: "当前模型版本", services: "服务", training: "训练",
      train_now: "立即训练", rollback: "回滚", activate: "启用", versions: "模型版本",
      evaluation: "离线评估", quality: "数据质量", analytics: "搜索分析", forecast: "需求预测",
      admin_key_needed: "请输入管理员 API 密钥（仅保存在当前标签页）。", run: "版本", created: "创建时间",
      state: "状态", error: "错误", top_queries: "热门搜索词", zero_results: "无结果搜索词",
      ctr: "点击率", item_id: "商品编号", show: "显示", history: "历史",
      interval: "预测区间", reorder_point: "再订货点", no_reports: "暂无评估报告。",
      searches: "搜索次数", metric: "指标", name: "名称", components: "组件", seconds: "秒",
      current: "当前", serving: "服务中", language: "English", clear_key: "忘记密钥",
      inventory: "库存建议", day: "天", stockout_risk: "缺货风险",
      days_of_cover: "可售天数", stock: "库存", order_quantity: "建议订货量", suggested_order: "建议订货量", safety_stock: "安全库存",
      sign_in_for_you: "登录后查看为你推荐的商品。", set_aside: "已搁置的记录（修正前不提供服务）",
    },
  };
  // storefront: search pages, no-results page, sort, attribute names, recommendation reasons
  Object.assign(STRINGS.en, {
    customer_placeholder: "customer id", popular_now: "Popular with customers", nothing_yet: "Nothing to show yet.",
    home: "Back to the shop", results_range: "{from}–{to} of {total} results", page_past_end: "No results on this page ({total} in all).",
    prev: "Previous", next: "Next", pages: "Pages", sort_by: "Sort by", sort_relevance: "Relevance",
    sort_price_asc: "Price: low to high", sort_price_desc: "Price: high to low", sort_newest: "Newest",
    sort_popularity: "Most popular", sort_rating: "Best rated",
    did_you_mean: "Did you mean", showing_for: "Showing results for", related_results: "No exact matches: showing related products.",
    no_results_for: "No results for “{q}”", try_instead: "Try instead:", search_without_filters: "“{q}” in all products (without filters)",
    search_for: "Search for “{q}”", no_results_tips: "Check the spelling, use fewer or more general words, or browse what other shoppers like:",
    price_under: "Under {hi}", price_from: "{lo} and up", yes: "Yes", no: "No", ticket: "Ticket",
    r_popular_in: "popular in {cat}", r_popular: "popular with customers", r_neighbours: "customers with similar taste liked it",
    r_trending_in: "trending in {cat}", r_trending: "trending",
    r_session: "similar to {title}, which you viewed just now", r_similar: "similar to {title}", r_similar_same: "similar to {title}: same {same}",
    r_together: "customers who bought {title} also bought this", r_because_view: "because you viewed {title}",
    r_because_save: "because you saved {title}", r_because_cart: "because you added {title} to your cart",
    r_because_rate: "because you rated {title}", r_because_purchase: "because you bought {title}",
    r_interest: "matches your interest in {what}", r_liked: "matches items you liked", r_and: " and ", r_brand: "brand", r_category: "category",
    attr_nfc: "NFC", attr_gps: "GPS", attr_hdr: "HDR", attr_wifi: "Wi-Fi", attr_spf: "SPF", attr_ram: "RAM",
    attr_battery_mah: "Battery (mAh)", attr_volume_ml: "Volume (ml)", attr_diameter_cm: "Diameter (cm)",
    attr_thickness_mm: "Thickness (mm)", attr_pressure_bar: "Pressure (bar)", attr_age_min: "Minimum age",
  });
  Object.assign(STRINGS.zh, {
    customer_placeholder: "顾客编号", popular_now: "热门商品", nothing_yet: "暂无内容。",
    home: "返回商店", results_range: "第 {from}–{to} 个，共 {total} 个结果", page_past_end: "本页没有结果（共 {total} 个）。",
    prev: "上一页", next: "下一页", pages: "分页", sort_by: "排序", sort_relevance: "相关度",
    sort_price_asc: "价格从低到高", sort_price_desc: "价格从高到低", sort_newest: "最新上架",
    sort_popularity: "最受欢迎", sort_rating: "评分最高",
    did_you_mean: "您是不是要找", showing_for: "已显示以下搜索词的结果：", related_results: "没有完全匹配的商品，为你显示相关商品。",
    no_results_for: "没有找到“{q}”的结果", try_instead: "试试：", search_without_filters: "在全部商品中搜索“{q}”（不加筛选）",
    search_for: "搜索“{q}”", no_results_tips: "请检查拼写，换用更少或更通用的词，或看看其他顾客喜欢的商品：",
    price_under: "{hi} 以下", price_from: "{lo} 及以上", yes: "是", no: "否", ticket: "工单",
    r_popular_in: "{cat}类热销", r_popular: "顾客喜爱的热门商品", r_neighbours: "品味相近的顾客也喜欢",
    r_trending_in: "{cat}类近期热门", r_trending: "近期热门",
    r_session: "与你刚刚浏览的{title}相似", r_similar: "与{title}相似", r_similar_same: "与{title}相似：{same}相同",
    r_together: "购买{title}的顾客也买了", r_because_view: "因为你浏览过{title}", r_because_save: "因为你收藏了{title}",
    r_because_cart: "因为你把{title}加入了购物车", r_because_rate: "因为你评价过{title}",
    r_because_purchase: "因为你购买过{title}", r_interest: "符合你对{what}的兴趣", r_liked: "与你喜欢的商品相似", r_and: "和", r_brand: "品牌", r_category: "类目",
    attr_colour: "颜色", attr_color: "颜色", attr_size: "尺码", attr_capacity: "容量", attr_memory: "内存", attr_ram: "内存",
    attr_storage: "存储", attr_bluetooth: "蓝牙", attr_noise_cancelling: "降噪", attr_waterproof: "防水", attr_nfc: "NFC",
    attr_gps: "GPS", attr_hdr: "HDR", attr_wifi: "WiFi", attr_wireless: "无线", attr_backlit: "背光",
    attr_battery_hours: "续航（小时）", attr_battery_days: "续航（天）", attr_battery_minutes: "续航（分钟）",
    attr_battery_months: "电池寿命（月）", attr_battery_mah: "电池容量（mAh）", attr_material: "材质",
    attr_compatible_model: "适用机型", attr_power: "功率", attr_screen_size: "屏幕尺寸", attr_pressure_bar: "压力（bar）",
    attr_pack: "规格", attr_pack_size: "件数", attr_intensity: "强度", attr_diameter_cm: "直径（厘米）", attr_volume: "容量",
    attr_volume_ml: "容量（毫升）", attr_spf: "防晒指数", attr_thickness_mm: "厚度（毫米）", attr_persons: "适用人数",
    attr_weight: "重量", attr_pieces: "颗粒数", attr_age_min: "最低适用年龄", attr_gender: "适用人群", attr_season: "季节",
  });
  // dashboard: hand-off tickets and their conversations
  Object.assign(STRINGS.en, {
    tickets: "Tickets", tk_all: "All statuses", tk_open: "Open", tk_in_progress: "In progress", tk_resolved: "Resolved", tk_closed: "Closed",
    tk_ticket: "Ticket", tk_reason: "Reason", tk_customer: "Customer", tk_anonymous: "anonymous", tk_updated: "Updated", tk_assignee: "Assignee",
    tk_note: "Note", tk_turns: "Turns", tk_transcript: "Conversation up to the hand-off", tk_later: "After the hand-off", tk_changes: "Changes",
    tk_none: "No tickets.", tk_count: "{n} tickets", tk_page: "Page {page} of {pages}", tk_prev: "Previous", tk_next: "Next",
    tk_save: "Save assignee and note", tk_saved: "Saved.", tk_back: "Back to the list", tk_conversation: "Conversation",
    tk_to_in_progress: "Start work", tk_to_resolved: "Resolve", tk_to_closed: "Close", tk_to_open: "Reopen",
    tk_user: "Customer", tk_assistant: "Assistant", tk_omitted: "{n} earlier turns not kept", tk_changed_by: "By", tk_from: "From", tk_to: "To",
    tk_reason_asked: "The customer asked for a person", tk_reason_twice: "The assistant could not answer twice",
    tk_reason_offer: "The customer accepted the offer of a person",
    tk_recent: "Recent conversations", tk_started: "Started", tk_last: "Last message", tk_first: "First message",
    tk_no_conversations: "No conversations yet.",
  });
  Object.assign(STRINGS.zh, {
    tickets: "工单", tk_all: "全部状态", tk_open: "待处理", tk_in_progress: "处理中", tk_resolved: "已解决", tk_closed: "已关闭",
    tk_ticket: "工单", tk_reason: "原因", tk_customer: "顾客", tk_anonymous: "匿名", tk_updated: "更新时间", tk_assignee: "负责人",
    tk_note: "备注", tk_turns: "轮次", tk_transcript: "转人工前的对话", tk_later: "转人工后的对话", tk_changes: "变更记录",
    tk_none: "暂无工单。", tk_count: "共 {n} 个工单", tk_page: "第 {page} / {pages} 页", tk_prev: "上一页", tk_next: "下一页",
    tk_save: "保存负责人和备注", tk_saved: "已保存。", tk_back: "返回列表", tk_conversation: "会话",
    tk_to_in_progress: "开始处理", tk_to_resolved: "标记为已解决", tk_to_closed: "关闭", tk_to_open: "重新打开",
    tk_user: "顾客", tk_assistant: "智能客服", tk_omitted: "更早的 {n} 轮对话未保留", tk_changed_by: "操作者", tk_from: "原状态", tk_to: "新状态",
    tk_reason_asked: "顾客要求人工服务", tk_reason_twice: "智能客服连续两次无法回答", tk_reason_offer: "顾客接受了转人工的建议",
    tk_recent: "最近的会话", tk_started: "开始时间", tk_last: "最后一条消息", tk_first: "第一条消息",
    tk_no_conversations: "暂无会话。",
  });
  // dashboard: recommendation preview, search settings
  Object.assign(STRINGS.en, {
    pv_title: "Recommendation preview", pv_user: "Customer id", pv_history: "Recent history", pv_recs: "Recommendations",
    pv_when: "When", pv_event: "Event", pv_item: "Item", pv_no_history: "No history for this customer.",
    ev_view: "Viewed", ev_click: "Clicked", ev_search: "Searched", ev_wishlist: "Saved", ev_cart: "Added to cart",
    ev_purchase: "Bought", ev_rating: "Rated", ev_review: "Reviewed", ev_return: "Returned",
    ss_title: "Search settings", ss_synonyms: "Synonyms",
    ss_help: "One group per line, phrases separated by commas: every phrase finds the others. “phone => smartphone, mobile” expands one way only.",
    ss_saved_live: "Saved {n} lines: the search uses them now.", ss_saved_later: "Saved {n} lines: used from the next training (no search model is loaded).",
    ss_rules: "Pinned and hidden results",
    ss_rules_help: "One rule per query (compared ignoring case, full/half width and extra spaces). Pinned: product ids in the order they come first; “id@5” puts one at position 5. Hidden: product ids never shown for that query.",
    ss_query: "Query", ss_match: "Match", ss_exact: "is exactly", ss_contains: "contains", ss_pinned: "Pinned ids (in order)", ss_hidden: "Hidden ids",
    ss_remove: "Remove", ss_add_rule: "Add a rule", ss_no_rules: "No rules yet.",
    ss_rules_live: "Saved {n} rule(s): the search uses them now.", ss_rules_later: "Saved {n} rule(s): used from the next training (no search model is loaded).",
    ss_more: "also boosts {boost} and buries {bury} products (kept as they are)", ss_bad_pin: "“{v}” is neither an id nor id@position",
    ss_fields: "Field weights", ss_fields_help: "How much a word found in each field counts in the ranking (0: the field is not searched; at most 10).",
    ss_f_title: "Title", ss_f_brand: "Brand", ss_f_category: "Category", ss_f_attributes: "Attributes", ss_f_description: "Description",
    ss_fields_reset: "Use the configuration's weights", ss_src_saved: "Set here (the next training uses them too).", ss_src_config: "From the [search] section of shopmind.toml.",
    ss_fields_live: "Saved: the search uses these weights now.", ss_fields_later: "Saved: used from the next training (no search model is loaded).",
    ss_fields_reindex: "Indexing {fields}: {done} of {total} products. The new weights apply when it is done.",
    ss_fields_indexed: "Indexed {fields} in {s} s: the search uses these weights now.",
    ss_fields_failed: "Indexing {fields} failed ({error}); the previous weights stay.",
  });
  Object.assign(STRINGS.zh, {
    pv_title: "推荐预览", pv_user: "顾客编号", pv_history: "最近行为", pv_recs: "推荐结果",
    pv_when: "时间", pv_event: "行为", pv_item: "商品", pv_no_history: "该顾客暂无行为记录。",
    ev_view: "浏览", ev_click: "点击", ev_search: "搜索", ev_wishlist: "收藏", ev_cart: "加入购物车",
    ev_purchase: "购买", ev_rating: "评分", ev_review: "评价", ev_return: "退货",
    ss_title: "搜索设置", ss_synonyms: "同义词",
    ss_help: "每行一组，词语之间用逗号分隔：组内任一词都能搜到其他词。“手机 => 智能手机, 移动电话”表示只单向扩展。",
    ss_saved_live: "已保存 {n} 行：搜索已立即生效。", ss_saved_later: "已保存 {n} 行：下次训练后生效（当前未加载搜索模型）。",
    ss_rules: "置顶和隐藏的结果",
    ss_rules_help: "每个搜索词一条规则（比较时忽略大小写、全角半角和多余空格）。置顶：按顺序排在最前的商品编号；“编号@5”表示放在第 5 位。隐藏：该搜索词下不显示的商品编号。",
    ss_query: "搜索词", ss_match: "匹配方式", ss_exact: "完全一致", ss_contains: "包含", ss_pinned: "置顶商品编号（按顺序）", ss_hidden: "隐藏商品编号",
    ss_remove: "删除", ss_add_rule: "添加规则", ss_no_rules: "暂无规则。",
    ss_rules_live: "已保存 {n} 条规则：搜索已立即生效。", ss_rules_later: "已保存 {n} 条规则：下次训练后生效（当前未加载搜索模型）。",
    ss_more: "另外提升 {boost} 个、下沉 {bury} 个商品（保持不变）", ss_bad_pin: "“{v}”既不是商品编号，也不是“编号@位置”",
    ss_fields: "字段权重", ss_fields_help: "排序时各字段中匹配到的词所占的权重（0 表示不搜索该字段；最大为 10）。",
    ss_f_title: "标题", ss_f_brand: "品牌", ss_f_category: "类目", ss_f_attributes: "属性", ss_f_description: "描述",
    ss_fields_reset: "恢复配置文件中的权重", ss_src_saved: "在此设置（下次训练也会使用）。", ss_src_config: "来自 shopmind.toml 的 [search] 部分。",
    ss_fields_live: "已保存：搜索已立即使用这些权重。", ss_fields_later: "已保存：下次训练后生效（当前未加载搜索模型）。",
    ss_fields_reindex: "正在为{fields}建立索引：已处理 {done} / {total} 个商品。完成后新权重生效。",
    ss_fields_indexed: "已用 {s} 秒为{fields}建立索引：搜索已使用这些权重。",
    ss_fields_failed: "为{fields}建立索引失败（{error}）；仍使用原来的权重。",
  });
  // dashboard: data-quality panel (finding codes of shopmind.ingest.quality, table and field names)
  Object.assign(STRINGS.en, {
    q_computed: "Computed {when}", q_cached: "data unchanged since (from the cache)", q_recomputed: "just recomputed",
    q_recompute: "Recompute", q_recomputing: "Recomputing the data-quality report…", q_no_findings: "No problems found.",
    q_severity: "Severity", q_count: "Count", q_finding: "Finding", q_examples: "Examples", q_findings: "Findings",
    q_findings_chart: "Rows affected per finding", q_rows: "Rows per table", q_missing: "Missing fields (% of rows)",
    sev_error: "error", sev_warning: "warning", sev_info: "note",
    qt_items: "Items", qt_users: "Customers", qt_events: "Events", qt_orders: "Order lines", qt_documents: "Help pages",
    qt_sales: "Sales rows", qt_reviews: "Reviews", qt_search_log: "Searches", qt_click_log: "Clicks", qt_messages: "Chat messages",
    qt_tickets: "Tickets", qt_api_keys: "API keys",
    qm_description: "description", qm_category: "category", qm_brand: "brand", qm_price: "price", qm_stock: "stock",
    qm_image_url: "image", qm_attributes: "attributes", qm_email: "e-mail", qm_created_at: "created at",
    qm_session_id: "session", qm_item_id: "item", qm_text: "text", qm_tags: "tags", qm_url: "URL",
    qf_duplicate_events: "Events with the same customer, item, type and time under different ids",
    qf_duplicate_items: "Items sharing title and brand with another item (possible duplicates)",
    qf_duplicate_reviews: "Several reviews of one item by the same customer",
    qf_items_without_price: "Items without a price", qf_items_without_category: "Items without a category",
    qf_unknown_event_items: "Events naming unknown items", qf_unknown_event_users: "Events naming unknown customers",
    qf_unknown_order_users: "Orders naming unknown customers", qf_unknown_order_items: "Order lines naming unknown items",
    qf_unknown_sales_items: "Sales rows naming unknown items", qf_unknown_review_items: "Reviews naming unknown items",
    qf_unknown_review_users: "Reviews naming unknown customers",
    qf_item_price_out_of_range: "Item prices at or below zero, or too high", qf_order_price_out_of_range: "Order lines with a unit price at or below zero, or too high",
    qf_rating_out_of_range: "Ratings outside the 1–5 scale",
    qf_events_time_before_2000: "Events dated before 2000", qf_events_time_in_future: "Events dated in the future",
    qf_orders_time_before_2000: "Orders dated before 2000", qf_orders_time_in_future: "Orders dated in the future",
    qf_reviews_time_before_2000: "Reviews dated before 2000", qf_reviews_time_in_future: "Reviews dated in the future",
    qf_items_time_before_2000: "Items created before 2000", qf_items_time_in_future: "Items created in the future",
    qf_users_time_before_2000: "Customers created before 2000", qf_users_time_in_future: "Customers created in the future",
    qf_bot_like_users: "Bot-like customers (inhuman event rate)", qf_suspected_shilling: "Suspected shilling accounts (bursts of extreme ratings on few items)",
    qf_coordinated_fake_accounts: "Coordinated fake accounts pushing one item (left out of training)",
  });
  Object.assign(STRINGS.zh, {
    q_computed: "计算时间：{when}", q_cached: "此后数据未变（来自缓存）", q_recomputed: "刚刚重新计算",
    q_recompute: "重新计算", q_recomputing: "正在重新计算数据质量报告…", q_no_findings: "未发现问题。",
    q_severity: "严重程度", q_count: "数量", q_finding: "问题", q_examples: "示例", q_findings: "发现的问题",
    q_findings_chart: "各问题涉及的记录数", q_rows: "各表记录数", q_missing: "缺失字段（占记录的百分比）",
    sev_error: "错误", sev_warning: "警告", sev_info: "提示",
    qt_items: "商品", qt_users: "顾客", qt_events: "行为事件", qt_orders: "订单行", qt_documents: "帮助文档",
    qt_sales: "销售记录", qt_reviews: "评价", qt_search_log: "搜索", qt_click_log: "点击", qt_messages: "聊天消息",
    qt_tickets: "工单", qt_api_keys: "API 密钥",
    qm_description: "描述", qm_category: "类目", qm_brand: "品牌", qm_price: "价格", qm_stock: "库存",
    qm_image_url: "图片", qm_attributes: "属性", qm_email: "电子邮箱", qm_created_at: "创建时间",
    qm_session_id: "会话", qm_item_id: "商品", qm_text: "文本", qm_tags: "标签", qm_url: "网址",
    qf_duplicate_events: "顾客、商品、类型和时间都相同但编号不同的事件",
    qf_duplicate_items: "与其他商品标题和品牌相同的商品（可能重复）",
    qf_duplicate_reviews: "同一顾客对同一商品的多条评价",
    qf_items_without_price: "没有价格的商品", qf_items_without_category: "没有类目的商品",
    qf_unknown_event_items: "指向未知商品的事件", qf_unknown_event_users: "指向未知顾客的事件",
    qf_unknown_order_users: "指向未知顾客的订单", qf_unknown_order_items: "指向未知商品的订单行",
    qf_unknown_sales_items: "指向未知商品的销售记录", qf_unknown_review_items: "指向未知商品的评价",
    qf_unknown_review_users: "指向未知顾客的评价",
    qf_item_price_out_of_range: "价格小于等于零或过高的商品", qf_order_price_out_of_range: "单价小于等于零或过高的订单行",
    qf_rating_out_of_range: "超出 1–5 分范围的评分",
    qf_events_time_before_2000: "时间早于 2000 年的事件", qf_events_time_in_future: "时间在未来的事件",
    qf_orders_time_before_2000: "时间早于 2000 年的订单", qf_orders_time_in_future: "时间在未来的订单",
    qf_reviews_time_before_2000: "时间早于 2000 年的评价", qf_reviews_time_in_future: "时间在未来的评价",
    qf_items_time_before_2000: "创建时间早于 2000 年的商品", qf_items_time_in_future: "创建时间在未来的商品",
    qf_users_time_before_2000: "注册时间早于 2000 年的顾客", qf_users_time_in_future: "注册时间在未来的顾客",
    qf_bot_like_users: "疑似机器人的顾客（事件频率异常）", qf_suspected_shilling: "疑似刷评账号（短时间内对少数商品集中打极端分）",
    qf_coordinated_fake_accounts: "协同推高同一商品的虚假账号（已排除在训练之外）",
  });
  // dashboard: offline evaluation of the serving models on the shop's own data (dashboard_eval.js)
  Object.assign(STRINGS.en, {
    ev_intro: "Scores the serving models on this shop's own data: recommendations are refitted on the events before a time cut and judged on what customers did after it; search is judged on queries from the search log (or the catalogue). Each is compared with a simple baseline.",
    ev_run: "Run evaluation", ev_running: "Evaluating…", ev_none: "No evaluation yet: press “Run evaluation”.",
    ev_already_running: "An evaluation is already running.", ev_failed: "The evaluation failed",
    ev_done: "Evaluated {when} in {seconds} s (model version {run})", ev_recommend: "Recommendations", ev_search: "Search",
    ev_model: "Model", ev_role: "Role", ev_users: "Customers", ev_queries: "Queries", ev_fit_s: "Fit (s)",
    ev_role_serving: "serving", ev_role_baseline: "baseline", ev_role_component: "component of the blend",
    ev_chart: "{task}: serving model vs baseline", ev_legend: "serving = {model}; baseline = {baseline}",
    ev_lift: "nDCG@10 of the serving model: {x} × the baseline's", ev_lift_none: "The baseline scores 0: no ratio.",
    ev_split: "Time cut {cut}: fitted on {train} events before it, judged on {test} events after it; {scored} of {held} returning customers scored.",
    ev_src_search_log: "Judged queries from the shop's search log: what searching sessions clicked (grade 1), carted or saved (2) or bought (3) — {n} queries.",
    ev_src_catalogue: "Judged queries derived from the catalogue (category names, brand + category) — {n} queries. The search log was not used: {why}.",
    ev_src_catalogue_nolog: "Judged queries derived from the catalogue (category names, brand + category) — {n} queries; there is no search log yet.",
    ev_why_too_few: "only {n} searches were followed by a click, cart or purchase (at least {min} needed)",
    ev_why_no_followups: "no search is followed by a click, cart or purchase in its session",
    ev_config_note: "The serving configuration (algorithm, settings, blend weights) was chosen at training time on all events; the model's parameters are refitted here on the events before the cut only.",
    ev_skip_no_model: "Skipped: no model of this kind is serving (train first).",
    ev_skip_no_holdout: "Skipped: no customer came back after the time cut with a new item, so there is nothing to judge.",
    ev_skip_no_queries: "Skipped: no search log with clicks and no categories to derive queries from.",
    ev_step_start: "Starting", ev_step_load: "Reading the shop's events", ev_step_rec_split: "Cutting {events} events by time",
    ev_step_rec_fit: "Fitting {model} on {events} events before the cut", ev_step_rec_score: "Ranking for {users} held-out customers",
    ev_step_rec_baseline: "Scoring the popularity baseline", ev_step_search_queries: "Collecting judged search queries",
    ev_step_search_baseline: "BM25 baseline over {products} titles, {queries} queries", ev_step_search_serving: "Serving search ({mode}), {queries} queries",
    ev_step_write: "Writing the reports",
    ev_m_ndcg: "nDCG", ev_m_precision: "Precision", ev_m_recall: "Recall", ev_m_hr: "Hit rate", ev_m_map: "MAP", ev_m_mrr: "MRR",
    ev_m_coverage: "Coverage", ev_m_p: "Precision", ev_m_zero_result_rate: "No-result rate",
    ev_a_hybrid: "Hybrid blend", ev_a_popularity: "Popularity", ev_a_ease: "EASE", ev_a_item_knn: "Item kNN", ev_a_user_knn: "User kNN",
    ev_a_als: "ALS", ev_a_bpr: "BPR", ev_a_content: "Content-based", ev_a_sar: "SAR",
    ev_s_hybrid: "Hybrid (keywords + meaning)", ev_s_bm25: "BM25 (all fields)", ev_s_semantic: "Semantic", ev_s_ltr: "Learned ranker",
    "ev_s_bm25s-title": "BM25 over titles",
  });
  Object.assign(STRINGS.zh, {
    ev_intro: "用本店自己的数据为当前服务中的模型打分：推荐模型只用某个时间点之前的事件重新训练，再用顾客在此之后的行为来评判；搜索用搜索日志（或商品目录）生成的带评分查询来评判。两者都与一个简单的基线比较。",
    ev_run: "运行评估", ev_running: "正在评估…", ev_none: "尚未评估：请点击“运行评估”。",
    ev_already_running: "已有一个评估正在运行。", ev_failed: "评估失败",
    ev_done: "评估于 {when} 完成，用时 {seconds} 秒（模型版本 {run}）", ev_recommend: "推荐", ev_search: "搜索",
    ev_model: "模型", ev_role: "角色", ev_users: "顾客数", ev_queries: "查询数", ev_fit_s: "训练（秒）",
    ev_role_serving: "当前模型", ev_role_baseline: "基线", ev_role_component: "混合模型的组件",
    ev_chart: "{task}：当前模型与基线对比", ev_legend: "当前模型 = {model}；基线 = {baseline}",
    ev_lift: "当前模型的 nDCG@10 是基线的 {x} 倍", ev_lift_none: "基线得分为 0，无法计算倍数。",
    ev_split: "时间切分点 {cut}：用之前的 {train} 个事件训练，用之后的 {test} 个事件评判；回访顾客 {held} 人，评估了其中 {scored} 人。",
    ev_src_search_log: "带评分的查询来自本店的搜索日志：搜索后同一会话中的点击（1 分）、加购或收藏（2 分）、购买（3 分）——共 {n} 个查询。",
    ev_src_catalogue: "带评分的查询由商品目录生成（类目名称、品牌 + 类目）——共 {n} 个查询。未使用搜索日志：{why}。",
    ev_src_catalogue_nolog: "带评分的查询由商品目录生成（类目名称、品牌 + 类目）——共 {n} 个查询；目前还没有搜索日志。",
    ev_why_too_few: "只有 {n} 个搜索词之后有点击、加购或购买（至少需要 {min} 个）",
    ev_why_no_followups: "没有任何搜索在同一会话中带来点击、加购或购买",
    ev_config_note: "当前的模型配置（算法、参数、混合权重）是训练时用全部事件选出的；这里只用切分点之前的事件重新拟合模型参数。",
    ev_skip_no_model: "已跳过：没有此类模型在服务（请先训练）。",
    ev_skip_no_holdout: "已跳过：切分点之后没有回访顾客接触新商品，无从评判。",
    ev_skip_no_queries: "已跳过：既没有带点击的搜索日志，也没有可用于生成查询的类目。",
    ev_step_start: "正在启动", ev_step_load: "正在读取本店的事件", ev_step_rec_split: "正在按时间切分 {events} 个事件",
    ev_step_rec_fit: "正在用切分点之前的 {events} 个事件训练 {model}", ev_step_rec_score: "正在为 {users} 位留出顾客生成推荐",
    ev_step_rec_baseline: "正在为热门度基线打分", ev_step_search_queries: "正在收集带评分的搜索查询",
    ev_step_search_baseline: "BM25 基线：{products} 个商品标题，{queries} 个查询", ev_step_search_serving: "当前搜索（{mode}）：{queries} 个查询",
    ev_step_write: "正在写入报告",
    ev_m_ndcg: "nDCG", ev_m_precision: "准确率", ev_m_recall: "召回率", ev_m_hr: "命中率", ev_m_map: "MAP", ev_m_mrr: "MRR",
    ev_m_coverage: "覆盖率", ev_m_p: "准确率", ev_m_zero_result_rate: "零结果率",
    ev_a_hybrid: "混合模型", ev_a_popularity: "热门度", ev_a_ease: "EASE", ev_a_item_knn: "基于商品的近邻", ev_a_user_knn: "基于顾客的近邻",
    ev_a_als: "ALS 矩阵分解", ev_a_bpr: "BPR", ev_a_content: "基于内容", ev_a_sar: "SAR",
    ev_s_hybrid: "混合检索（关键词 + 语义）", ev_s_bm25: "BM25（全部字段）", ev_s_semantic: "语义检索", ev_s_ltr: "学习排序",
    "ev_s_bm25s-title": "仅标题的 BM25",
  });
  // dashboard: scheduled retraining and per-component training progress (dashboard_training.js)
  Object.assign(STRINGS.en, {
    tr_next: "Next retraining: {when}", tr_schedule: "schedule {cron} ({tz})",
    tr_not_scheduled: "Retraining is not scheduled (set training.schedule to retrain automatically).",
    tr_last: "Last scheduled training (due {due}): {state}", tr_catch_up: "(missed while the service was down)",
    tr_progress: "Training progress", tr_last_progress: "Last training", tr_component: "Component",
    tr_progress_col: "Progress", tr_elapsed: "Elapsed", tr_eta: "Time left", tr_sec: "{n} s", tr_min: "{m} min {s} s",
    tr_s_pending: "waiting", tr_s_running: "running", tr_s_succeeded: "done", tr_s_failed: "failed",
    tr_s_skipped: "skipped", tr_s_claimed: "starting", tr_s_started: "started",
    tr_c_recommend: "Recommendations", tr_c_search: "Search", tr_c_assistant: "Assistant", tr_c_forecast: "Forecast",
    tr_u_candidates: "candidates", tr_u_models: "models", tr_u_series: "series", tr_u_products_embedded: "products embedded",
  });
  Object.assign(STRINGS.zh, {
    tr_next: "下次重新训练：{when}", tr_schedule: "计划 {cron}（{tz}）",
    tr_not_scheduled: "未设置定时重新训练（设置 training.schedule 即可自动重新训练）。",
    tr_last: "上次定时训练（计划于 {due}）：{state}", tr_catch_up: "（服务停机期间错过）",
    tr_progress: "训练进度", tr_last_progress: "上次训练", tr_component: "组件",
    tr_progress_col: "进度", tr_elapsed: "已用时间", tr_eta: "剩余时间", tr_sec: "{n} 秒", tr_min: "{m} 分 {s} 秒",
    tr_s_pending: "等待中", tr_s_running: "进行中", tr_s_succeeded: "完成", tr_s_failed: "失败",
    tr_s_skipped: "已跳过", tr_s_claimed: "正在开始", tr_s_started: "已开始",
    tr_c_recommend: "推荐", tr_c_search: "搜索", tr_c_assistant: "智能客服", tr_c_forecast: "需求预测",
    tr_u_candidates: "个候选模型", tr_u_models: "个模型", tr_u_series: "条序列", tr_u_products_embedded: "件商品已向量化",
  });
  // dashboard: search analytics (GET /admin/search-analytics)
  Object.assign(STRINGS.en, {
    an_query: "Query", an_searches: "Searches", an_clicks: "Clicks", an_zero_rate: "Searches with no results",
    an_mean_position: "Mean position clicked", an_ctr_by_position: "Click-through rate by position", an_position: "Position {p}",
  });
  Object.assign(STRINGS.zh, {
    an_query: "搜索词", an_searches: "搜索次数", an_clicks: "点击次数", an_zero_rate: "无结果搜索占比",
    an_mean_position: "平均点击位置", an_ctr_by_position: "各位置点击率", an_position: "第 {p} 位",
  });
  let lang = localStorage.getItem("shopmind.lang") || "en";

  function t(key) { return (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key; }

  function applyI18n(root) {
    (root || document).querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    (root || document).querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    });
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  }

  function setLang(next) { lang = next; localStorage.setItem("shopmind.lang", next); applyI18n(); }
  function getLang() { return lang; }

  // ---------------------------------------------------------------- keys
  // The storefront uses a READ key: injected by the server in demo mode, or typed in (localStorage).
  // The dashboard uses an ADMIN key: typed in, kept in sessionStorage (this tab only).
  function readKey() { return CONFIG.readKey || localStorage.getItem("shopmind.readKey") || ""; }
  function setReadKey(k) { localStorage.setItem("shopmind.readKey", k); }
  // A signed-in shopper's customer token (X-Customer-Token), minted by the shop's backend: the page
  // gets it in SHOPMIND_CONFIG (customerToken + customerUser), or, in the demo, one per demo customer.
  function customerToken(user) {
    if (!user) return "";
    if (CONFIG.customerToken && CONFIG.customerUser === user) return CONFIG.customerToken;
    return (CONFIG.demoTokens && CONFIG.demoTokens[user]) || "";
  }
  function adminKey() { return sessionStorage.getItem("shopmind.adminKey") || ""; }
  function setAdminKey(k) { if (k) sessionStorage.setItem("shopmind.adminKey", k); else sessionStorage.removeItem("shopmind.adminKey"); }

  // ---------------------------------------------------------------- API client
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || ("HTTP " + status));
      this.status = status; this.body = body;
    }
  }

  async function api(path, { key, token, method = "GET", body, params } = {}) {
    let url = path;
    if (params) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) {
        if (v === undefined || v === null || v === "") continue;
        if (Array.isArray(v)) v.forEach((x) => qs.append(k, x)); else qs.append(k, v);
      }
      const s = qs.toString();
      if (s) url += (url.includes("?") ? "&" : "?") + s;
    }
    const headers = { Accept: "application/json" };
    if (key) headers.Authorization = "Bearer " + key;
    if (token) headers["X-Customer-Token"] = token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { raw: text }; }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  /** Highlighted text from the search service: keep text and <em> only, drop every other tag/attribute. */
  function safeHighlight(html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = String(html || "");
    const out = document.createDocumentFragment();
    (function walk(src, dst) {
      for (const n of src.childNodes) {
        if (n.nodeType === Node.TEXT_NODE) dst.appendChild(document.createTextNode(n.textContent));
        else if (n.nodeType === Node.ELEMENT_NODE) {
          if (n.tagName === "EM" || n.tagName === "MARK" || n.tagName === "B") {
            const em = document.createElement("em"); walk(n, em); dst.appendChild(em);
          } else if (n.tagName !== "SCRIPT" && n.tagName !== "STYLE") walk(n, dst);
        }
      }
    })(tpl.content, out);
    return out;
  }

  function money(price, currency) {
    if (price === null || price === undefined || isNaN(price)) return "";
    try { return new Intl.NumberFormat(lang === "zh" ? "zh-CN" : "en-US", { style: "currency", currency: currency || CONFIG.currency || "USD" }).format(price); }
    catch (e) { return Number(price).toFixed(2); }
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  // ---------------------------------------------------------------- SVG charts
  const SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const n = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) n.setAttribute(k, v);
    for (const c of children.flat()) if (c) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    return n;
  }

  /** Horizontal bar chart: bars = [{label, value}]. */
  function barChart(bars, { title, width = 520, format = (v) => (Math.abs(v) < 10 ? v.toFixed(4) : String(Math.round(v))) } = {}) {
    const rowH = 22, left = 170, right = 70, top = title ? 26 : 8;
    const h = top + bars.length * rowH + 8;
    const max = Math.max(1e-12, ...bars.map((b) => Math.abs(b.value || 0)));
    const root = svg("svg", { width, height: h, viewBox: `0 0 ${width} ${h}`, class: "chart", role: "img" });
    if (title) root.appendChild(svg("text", { x: 4, y: 16, class: "chart-title" }, title));
    bars.forEach((b, i) => {
      const y = top + i * rowH;
      const w = ((width - left - right) * Math.abs(b.value || 0)) / max;
      root.appendChild(svg("text", { x: left - 6, y: y + 15, "text-anchor": "end", class: "chart-label" }, String(b.label).slice(0, 26)));
      root.appendChild(svg("rect", { x: left, y: y + 3, width: Math.max(1, w), height: rowH - 6, class: "bar" + (b.highlight ? " bar-hi" : "") },
        svg("title", {}, `${b.label}: ${b.value}`)));
      root.appendChild(svg("text", { x: left + w + 4, y: y + 15, class: "chart-value" }, format(b.value || 0)));
    });
    return root;
  }

  /** Line chart with series [{name, points: [[x(ms), y]], cls}], optional bands [{upper, lower}] and hlines. */
  function lineChart({ series, band, hlines = [], width = 720, height = 280, title }) {
    const pad = { l: 50, r: 16, t: title ? 28 : 12, b: 30 };
    const all = series.flatMap((s) => s.points).concat(band ? band.flatMap((p) => [[p[0], p[1]], [p[0], p[2]]]) : []);
    const ys = all.map((p) => p[1]).concat(hlines.map((h) => h.y));
    const xs = all.map((p) => p[0]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(0, ...ys), y1 = Math.max(...ys) * 1.05 || 1;
    const X = (x) => pad.l + ((x - x0) / Math.max(1, x1 - x0)) * (width - pad.l - pad.r);
    const Y = (y) => height - pad.b - ((y - y0) / Math.max(1e-9, y1 - y0)) * (height - pad.t - pad.b);
    const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
    if (title) root.appendChild(svg("text", { x: 4, y: 16, class: "chart-title" }, title));
    for (let i = 0; i <= 4; i++) {
      const v = y0 + ((y1 - y0) * i) / 4;
      root.appendChild(svg("line", { x1: pad.l, x2: width - pad.r, y1: Y(v), y2: Y(v), class: "grid" }));
      root.appendChild(svg("text", { x: pad.l - 6, y: Y(v) + 4, "text-anchor": "end", class: "chart-label" }, v.toFixed(v < 10 ? 1 : 0)));
    }
    if (band && band.length) {
      const up = band.map((p) => `${X(p[0])},${Y(p[2])}`).join(" ");
      const lo = band.slice().reverse().map((p) => `${X(p[0])},${Y(p[1])}`).join(" ");
      root.appendChild(svg("polygon", { points: up + " " + lo, class: "band" }));
    }
    series.forEach((s) => {
      if (!s.points.length) return;
      root.appendChild(svg("polyline", { points: s.points.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "), class: "line " + (s.cls || "") }));
    });
    hlines.forEach((h) => {
      root.appendChild(svg("line", { x1: pad.l, x2: width - pad.r, y1: Y(h.y), y2: Y(h.y), class: "hline" }));
      root.appendChild(svg("text", { x: width - pad.r, y: Y(h.y) - 4, "text-anchor": "end", class: "chart-label" }, `${h.label} ${h.y.toFixed(1)}`));
    });
    const fmt = (ms) => new Date(ms).toISOString().slice(0, 10);
    root.appendChild(svg("text", { x: pad.l, y: height - 8, class: "chart-label" }, fmt(x0)));
    root.appendChild(svg("text", { x: width - pad.r, y: height - 8, "text-anchor": "end", class: "chart-label" }, fmt(x1)));
    return root;
  }

  // ---------------------------------------------------------------- recommendation reasons
  function fill(template, vars) { return template.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? "")); }

  /** A category name in the page's language: the server's Chinese names ([server] category_names_zh
      over the demo catalogue's), else as the shop wrote it. */
  function categoryName(name) {
    const zh = CONFIG.categoryNamesZh || {};
    return getLang() === "zh" && zh[name] ? zh[name] : String(name);
  }

  /** A recommendation's reason in the page's language, phrased from its structured explanation
      (kind, action, title, brand, category — see recommend/explain.py); the server's English
      ``reason`` is the fallback for kinds this page does not know. */
  function reasonText(rec) {
    const x = rec.explanation || {};
    // lower-case words inside the sentence ("same brand Acme"), not the facet headings ("Brand")
    const same = () => [x.brand ? t("r_brand") + " " + x.brand : "", x.category ? t("r_category") + " " + categoryName(x.category) : ""]
      .filter(Boolean).join(t("r_and"));
    switch (x.kind) {
      case "popular":
        if (x.trending) return x.category ? fill(t("r_trending_in"), { cat: categoryName(x.category) }) : t("r_trending");
        return x.category ? fill(t("r_popular_in"), { cat: categoryName(x.category) }) : t("r_popular");
      case "neighbours": return t("r_neighbours");
      case "because":
        if (x.title && x.action) return fill(t(x.action === "session" ? "r_session" : "r_because_" + x.action), { title: x.title });
        break;
      case "similar":
        if (x.title) return fill(t(same() ? "r_similar_same" : "r_similar"), { title: x.title, same: same() });
        break;
      case "bought_together":
        if (x.title) return fill(t("r_together"), { title: x.title });
        break;
      case "content": return same() ? fill(t("r_interest"), { what: same() }) : t("r_liked");
      default: break;
    }
    return String(rec.reason || "");
  }

  function debounce(fn, ms) { let h; return (...a) => { clearTimeout(h); h = setTimeout(() => fn(...a), ms); }; }

  return { CONFIG, t, applyI18n, setLang, getLang, readKey, setReadKey, customerToken, adminKey, setAdminKey, api, ApiError,
    el, clear, safeHighlight, money, barChart, lineChart, debounce, fill, categoryName, reasonText };
})();
