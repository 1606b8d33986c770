//! The synthetic world: hosts and applications, the endpoints each application serves with their
//! latency, size and error profiles, user agents per kind of client, and the words used to make
//! names, searches and prompts. Everything here is static data; the actors decide how to use it.

/// The applications behind the synthetic hosts (the demo configuration maps hosts to these names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum App {
    Shop,
    Bank,
    Assistant,
    Backoffice,
}

impl App {
    /// Where the app's users log in; the backoffice uses the shop's login.
    pub(crate) fn login_host(self) -> &'static str {
        match self {
            App::Shop | App::Backoffice => SHOP_API,
            App::Bank => BANK_API,
            App::Assistant => ASSISTANT_API,
        }
    }

    pub(crate) fn login_path(self) -> &'static str {
        match self {
            App::Shop | App::Backoffice => "/v1/login",
            App::Bank => "/v1/auth/token",
            App::Assistant => "/v1/auth/login",
        }
    }

    pub(crate) fn refresh_path(self) -> &'static str {
        match self {
            App::Shop | App::Backoffice => "/v1/token/refresh",
            App::Bank | App::Assistant => "/v1/auth/refresh",
        }
    }

    pub(crate) fn logout_path(self) -> &'static str {
        match self {
            App::Shop | App::Backoffice => "/v1/logout",
            App::Bank | App::Assistant => "/v1/auth/logout",
        }
    }

    /// Token lifetime: the bank is strict, which makes its long sessions refresh.
    pub(crate) fn token_lifetime_seconds(self) -> i64 {
        match self {
            App::Bank => 900,
            App::Shop | App::Backoffice | App::Assistant => 3_600,
        }
    }

    /// Index into the per-app JWT signing secrets.
    pub(crate) fn secret_index(self) -> usize {
        match self {
            App::Shop | App::Backoffice => 0,
            App::Bank => 1,
            App::Assistant => 2,
        }
    }

    pub(crate) fn issuer(self) -> &'static str {
        match self {
            App::Shop | App::Backoffice => "https://api.shop.example",
            App::Bank => "https://api.bank.example",
            App::Assistant => "https://ai.example",
        }
    }

    /// The calls a logged-in user of this app makes, with relative weights.
    pub(crate) fn calls(self) -> &'static [(Call, u32)] {
        match self {
            App::Shop => SHOP_CALLS,
            App::Bank => BANK_CALLS,
            App::Assistant => ASSISTANT_CALLS,
            App::Backoffice => BACKOFFICE_CALLS,
        }
    }
}

pub(crate) const SHOP_API: &str = "api.shop.example";
pub(crate) const SHOP_WEB: &str = "www.shop.example";
pub(crate) const SHOP_ADMIN: &str = "admin.shop.example";
pub(crate) const BANK_API: &str = "api.bank.example";
pub(crate) const ASSISTANT_API: &str = "ai.example";

/// One API operation a token user, partner or attacker can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    ShopListProducts,
    ShopGetProduct,
    ShopProductReviews,
    ShopCategory,
    ShopSearch,
    ShopGetCart,
    ShopAddCartItem,
    ShopRemoveCartItem,
    ShopListOrders,
    ShopGetOrder,
    ShopCreateOrder,
    ShopCheckout,
    ShopPayment,
    ShopInvoice,
    ShopGetProfile,
    ShopUpdateProfile,
    ShopChangePassword,
    ShopGetSettings,
    ShopUpdateSettings,
    ShopOtp,
    ShopSmsSend,
    BankAccounts,
    BankBalance,
    BankTransactions,
    BankTransfer,
    BankGetTransfer,
    BankStatement,
    BankCards,
    BankFreezeCard,
    BankOtp,
    AssistantChat,
    AssistantEmbeddings,
    AssistantModels,
    AdminUsers,
    AdminUser,
    AdminOrder,
    AdminGetSettings,
    AdminUpdateSettings,
}

/// How an endpoint behaves: where it lives, how long it takes, how big its answers are, how it fails.
pub(crate) struct Behaviour {
    pub(crate) host: &'static str,
    pub(crate) method: &'static str,
    pub(crate) ok_status: u16,
    pub(crate) duration_median_ms: f64,
    pub(crate) duration_sigma: f64,
    pub(crate) size_median: f64,
    pub(crate) size_sigma: f64,
    /// Share of calls answered with `client_error_status` (a missing object, a validation error).
    pub(crate) client_error_share: f64,
    pub(crate) client_error_status: u16,
    /// Share of calls that fail on the server side (500/502/503).
    pub(crate) server_error_share: f64,
}

const fn behaviour(
    host: &'static str,
    method: &'static str,
    ok_status: u16,
    duration_median_ms: f64,
    size_median: f64,
    client_error_share: f64,
    client_error_status: u16,
) -> Behaviour {
    Behaviour {
        host,
        method,
        ok_status,
        duration_median_ms,
        duration_sigma: 0.55,
        size_median,
        size_sigma: 0.45,
        client_error_share,
        client_error_status,
        server_error_share: 0.004,
    }
}

impl Call {
    pub(crate) fn behaviour(self) -> &'static Behaviour {
        const SHOP_LIST_PRODUCTS: Behaviour =
            behaviour(SHOP_API, "GET", 200, 38.0, 14_000.0, 0.002, 400);
        const SHOP_GET_PRODUCT: Behaviour =
            behaviour(SHOP_API, "GET", 200, 18.0, 2_400.0, 0.04, 404);
        const SHOP_PRODUCT_REVIEWS: Behaviour =
            behaviour(SHOP_API, "GET", 200, 45.0, 6_500.0, 0.01, 404);
        const SHOP_CATEGORY: Behaviour = behaviour(SHOP_API, "GET", 200, 30.0, 9_000.0, 0.02, 404);
        const SHOP_SEARCH: Behaviour = behaviour(SHOP_API, "GET", 200, 85.0, 11_000.0, 0.01, 400);
        const SHOP_GET_CART: Behaviour = behaviour(SHOP_API, "GET", 200, 14.0, 900.0, 0.0, 404);
        const SHOP_ADD_CART_ITEM: Behaviour =
            behaviour(SHOP_API, "POST", 201, 26.0, 420.0, 0.03, 422);
        const SHOP_REMOVE_CART_ITEM: Behaviour =
            behaviour(SHOP_API, "DELETE", 204, 20.0, 0.0, 0.05, 404);
        const SHOP_LIST_ORDERS: Behaviour =
            behaviour(SHOP_API, "GET", 200, 52.0, 4_800.0, 0.0, 400);
        const SHOP_GET_ORDER: Behaviour = behaviour(SHOP_API, "GET", 200, 24.0, 1_900.0, 0.03, 404);
        const SHOP_CREATE_ORDER: Behaviour =
            behaviour(SHOP_API, "POST", 201, 140.0, 1_300.0, 0.04, 422);
        const SHOP_CHECKOUT: Behaviour =
            behaviour(SHOP_API, "POST", 200, 210.0, 1_100.0, 0.05, 409);
        const SHOP_PAYMENT: Behaviour = behaviour(SHOP_API, "POST", 201, 620.0, 700.0, 0.07, 402);
        const SHOP_INVOICE: Behaviour = behaviour(SHOP_API, "GET", 200, 95.0, 48_000.0, 0.03, 404);
        const SHOP_GET_PROFILE: Behaviour = behaviour(SHOP_API, "GET", 200, 16.0, 780.0, 0.01, 403);
        const SHOP_UPDATE_PROFILE: Behaviour =
            behaviour(SHOP_API, "PATCH", 200, 34.0, 780.0, 0.04, 422);
        const SHOP_CHANGE_PASSWORD: Behaviour =
            behaviour(SHOP_API, "POST", 204, 180.0, 0.0, 0.15, 400);
        const SHOP_GET_SETTINGS: Behaviour = behaviour(SHOP_API, "GET", 200, 12.0, 540.0, 0.0, 404);
        const SHOP_UPDATE_SETTINGS: Behaviour =
            behaviour(SHOP_API, "PUT", 200, 28.0, 540.0, 0.02, 422);
        const SHOP_OTP: Behaviour = behaviour(SHOP_API, "POST", 200, 60.0, 60.0, 0.12, 401);
        const SHOP_SMS_SEND: Behaviour = behaviour(SHOP_API, "POST", 202, 240.0, 70.0, 0.05, 429);
        const BANK_ACCOUNTS: Behaviour = behaviour(BANK_API, "GET", 200, 48.0, 1_600.0, 0.0, 404);
        const BANK_BALANCE: Behaviour = behaviour(BANK_API, "GET", 200, 22.0, 210.0, 0.01, 404);
        const BANK_TRANSACTIONS: Behaviour =
            behaviour(BANK_API, "GET", 200, 120.0, 22_000.0, 0.01, 400);
        const BANK_TRANSFER: Behaviour = behaviour(BANK_API, "POST", 201, 350.0, 520.0, 0.08, 422);
        const BANK_GET_TRANSFER: Behaviour =
            behaviour(BANK_API, "GET", 200, 25.0, 520.0, 0.02, 404);
        const BANK_STATEMENT: Behaviour =
            behaviour(BANK_API, "GET", 200, 380.0, 160_000.0, 0.03, 404);
        const BANK_CARDS: Behaviour = behaviour(BANK_API, "GET", 200, 30.0, 1_100.0, 0.0, 404);
        const BANK_FREEZE_CARD: Behaviour =
            behaviour(BANK_API, "POST", 200, 140.0, 180.0, 0.05, 409);
        const BANK_OTP: Behaviour = behaviour(BANK_API, "POST", 200, 55.0, 60.0, 0.1, 401);
        const ASSISTANT_CHAT: Behaviour = Behaviour {
            duration_sigma: 0.8,
            size_sigma: 0.9,
            server_error_share: 0.012,
            ..behaviour(ASSISTANT_API, "POST", 200, 2_400.0, 3_800.0, 0.03, 429)
        };
        const ASSISTANT_EMBEDDINGS: Behaviour =
            behaviour(ASSISTANT_API, "POST", 200, 160.0, 26_000.0, 0.02, 400);
        const ASSISTANT_MODELS: Behaviour =
            behaviour(ASSISTANT_API, "GET", 200, 9.0, 1_200.0, 0.0, 404);
        const ADMIN_USERS: Behaviour = behaviour(SHOP_ADMIN, "GET", 200, 110.0, 18_000.0, 0.0, 400);
        const ADMIN_USER: Behaviour = behaviour(SHOP_ADMIN, "GET", 200, 35.0, 2_300.0, 0.03, 404);
        const ADMIN_ORDER: Behaviour = behaviour(SHOP_ADMIN, "GET", 200, 40.0, 2_900.0, 0.03, 404);
        const ADMIN_GET_SETTINGS: Behaviour =
            behaviour(SHOP_ADMIN, "GET", 200, 15.0, 3_100.0, 0.0, 404);
        const ADMIN_UPDATE_SETTINGS: Behaviour =
            behaviour(SHOP_ADMIN, "PUT", 200, 60.0, 3_100.0, 0.05, 422);
        match self {
            Call::ShopListProducts => &SHOP_LIST_PRODUCTS,
            Call::ShopGetProduct => &SHOP_GET_PRODUCT,
            Call::ShopProductReviews => &SHOP_PRODUCT_REVIEWS,
            Call::ShopCategory => &SHOP_CATEGORY,
            Call::ShopSearch => &SHOP_SEARCH,
            Call::ShopGetCart => &SHOP_GET_CART,
            Call::ShopAddCartItem => &SHOP_ADD_CART_ITEM,
            Call::ShopRemoveCartItem => &SHOP_REMOVE_CART_ITEM,
            Call::ShopListOrders => &SHOP_LIST_ORDERS,
            Call::ShopGetOrder => &SHOP_GET_ORDER,
            Call::ShopCreateOrder => &SHOP_CREATE_ORDER,
            Call::ShopCheckout => &SHOP_CHECKOUT,
            Call::ShopPayment => &SHOP_PAYMENT,
            Call::ShopInvoice => &SHOP_INVOICE,
            Call::ShopGetProfile => &SHOP_GET_PROFILE,
            Call::ShopUpdateProfile => &SHOP_UPDATE_PROFILE,
            Call::ShopChangePassword => &SHOP_CHANGE_PASSWORD,
            Call::ShopGetSettings => &SHOP_GET_SETTINGS,
            Call::ShopUpdateSettings => &SHOP_UPDATE_SETTINGS,
            Call::ShopOtp => &SHOP_OTP,
            Call::ShopSmsSend => &SHOP_SMS_SEND,
            Call::BankAccounts => &BANK_ACCOUNTS,
            Call::BankBalance => &BANK_BALANCE,
            Call::BankTransactions => &BANK_TRANSACTIONS,
            Call::BankTransfer => &BANK_TRANSFER,
            Call::BankGetTransfer => &BANK_GET_TRANSFER,
            Call::BankStatement => &BANK_STATEMENT,
            Call::BankCards => &BANK_CARDS,
            Call::BankFreezeCard => &BANK_FREEZE_CARD,
            Call::BankOtp => &BANK_OTP,
            Call::AssistantChat => &ASSISTANT_CHAT,
            Call::AssistantEmbeddings => &ASSISTANT_EMBEDDINGS,
            Call::AssistantModels => &ASSISTANT_MODELS,
            Call::AdminUsers => &ADMIN_USERS,
            Call::AdminUser => &ADMIN_USER,
            Call::AdminOrder => &ADMIN_ORDER,
            Call::AdminGetSettings => &ADMIN_GET_SETTINGS,
            Call::AdminUpdateSettings => &ADMIN_UPDATE_SETTINGS,
        }
    }
}

const SHOP_CALLS: &[(Call, u32)] = &[
    (Call::ShopListProducts, 140),
    (Call::ShopGetProduct, 200),
    (Call::ShopProductReviews, 45),
    (Call::ShopCategory, 40),
    (Call::ShopSearch, 100),
    (Call::ShopGetCart, 80),
    (Call::ShopAddCartItem, 80),
    (Call::ShopRemoveCartItem, 18),
    (Call::ShopListOrders, 50),
    (Call::ShopGetOrder, 50),
    (Call::ShopCreateOrder, 12),
    (Call::ShopInvoice, 20),
    (Call::ShopGetProfile, 40),
    (Call::ShopUpdateProfile, 10),
    (Call::ShopChangePassword, 3),
    (Call::ShopGetSettings, 20),
    (Call::ShopUpdateSettings, 7),
    (Call::ShopOtp, 5),
    (Call::ShopSmsSend, 5),
];

const BANK_CALLS: &[(Call, u32)] = &[
    (Call::BankAccounts, 200),
    (Call::BankBalance, 200),
    (Call::BankTransactions, 200),
    (Call::BankTransfer, 60),
    (Call::BankGetTransfer, 40),
    (Call::BankStatement, 50),
    (Call::BankCards, 80),
    (Call::BankFreezeCard, 5),
    (Call::BankOtp, 20),
];

const ASSISTANT_CALLS: &[(Call, u32)] = &[
    (Call::AssistantChat, 60),
    (Call::AssistantEmbeddings, 25),
    (Call::AssistantModels, 5),
];

const BACKOFFICE_CALLS: &[(Call, u32)] = &[
    (Call::AdminUsers, 20),
    (Call::AdminUser, 25),
    (Call::AdminOrder, 25),
    (Call::AdminGetSettings, 6),
    (Call::AdminUpdateSettings, 2),
    (Call::ShopGetOrder, 10),
    (Call::ShopGetProduct, 8),
];

/// Role claims of token users. Most are customers; a few carry several roles as a JSON array.
pub(crate) const ROLE_CUSTOMER: &[&str] = &["customer"];
pub(crate) const ROLE_CUSTOMER_BETA: &[&str] = &["customer", "beta"];
pub(crate) const ROLE_ADMIN: &[&str] = &["admin"];
pub(crate) const ROLE_SUPPORT: &[&str] = &["support"];
pub(crate) const ROLE_SUPPORT_ADMIN: &[&str] = &["support", "admin"];
pub(crate) const ROLE_PARTNER: &[&str] = &["partner"];

/// Browsers people use on the storefront (and single-page clients of the API).
pub(crate) const BROWSER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.99 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
];

/// Programmatic clients of the API: SDKs, scripts, command-line tools.
pub(crate) const API_CLIENT_AGENTS: &[&str] = &[
    "ShopCLI/1.4.2 (linux; x86_64)",
    "python-requests/2.31.0",
    "axios/1.6.8",
    "okhttp/4.12.0",
    "Dart/3.3 (dart:io)",
    "Java-http-client/17.0.10",
    "shop-sdk-js/3.8.0 node/20.12.2",
    "shop-sdk-python/2.1.4 CPython/3.12.3",
    "Go-http-client/2.0",
    "PostmanRuntime/7.37.3",
];

/// The shop's and the bank's own phone apps.
pub(crate) const MOBILE_AGENTS: &[&str] = &[
    "ShopApp/4.12.0 (iPhone15,3; iOS 17.5; Scale/3.00)",
    "ShopApp/4.12.0 (Android 14; Pixel 8 Pro; okhttp/4.12.0)",
    "ShopApp/4.11.3 (iPad13,4; iPadOS 17.4; Scale/2.00)",
    "ShopApp/4.12.1 (Android 13; SM-A546B; okhttp/4.11.0)",
    "BankApp/7.3.0 (iPhone14,5; iOS 17.4.1)",
    "BankApp/7.2.9 (Android 14; Pixel 7a)",
];

/// Corporate desktops behind a NAT often run one browser build, which is why NAT users can be
/// indistinguishable without their tokens.
pub(crate) const OFFICE_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.92",
    "python-requests/2.31.0",
];

pub(crate) const PARTNER_AGENTS: &[&str] = &[
    "CatalogSync/3.2.1 (+https://partner-one.example/bot)",
    "MarketBridge/1.9.4 Java/17.0.9",
    "acme-erp-connector/5.0.2 python-requests/2.31.0",
    "Go-http-client/1.1",
    "feedhub-worker/0.14.2",
];

pub(crate) const SCRAPER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (compatible; PriceWatchBot/2.1; +http://pricewatch.example/bot)",
    "Scrapy/2.11.1 (+https://scrapy.org)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/123.0.6312.58 Safari/537.36",
    "python-httpx/0.27.0",
];

pub(crate) const SCANNER_AGENTS: &[&str] = &[
    "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)",
    "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
    "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
    "gobuster/3.6",
    "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
];

pub(crate) const STUFFER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
    "python-requests/2.25.1",
    "Go-http-client/1.1",
    "curl/7.88.1",
    "okhttp/3.12.1",
];

pub(crate) const ATTACKER_AGENTS: &[&str] = &[
    "curl/8.5.0",
    "sqlmap/1.8.3#stable (https://sqlmap.org)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "python-requests/2.31.0",
    "Wget/1.21.4",
];

pub(crate) const FIRST_NAMES: &[&str] = &[
    "anna", "ben", "chloe", "david", "emma", "felix", "grace", "hugo", "ines", "jonas", "kira",
    "liam", "maria", "noah", "olga", "pablo", "quinn", "rosa", "sami", "tara", "umar", "vera",
    "wei", "ximena", "yusuf", "zoe", "amir", "bea", "carlos", "dana", "elif", "farah", "goran",
    "hana", "ivan", "julia",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    "kowalski", "smith", "garcia", "mueller", "rossi", "nguyen", "dubois", "silva", "tanaka",
    "ivanova", "okafor", "jensen", "novak", "haddad", "kim", "larsen", "moreau", "popescu",
    "schmidt", "weber", "yilmaz", "zhang", "andersen", "brown", "costa", "dvorak", "evans",
    "fischer",
];

pub(crate) const MAIL_DOMAINS: &[&str] = &[
    "mail.example",
    "example.com",
    "example.org",
    "inbox.example",
    "corp.example",
];

pub(crate) const SEARCH_WORDS: &[&str] = &[
    "running shoes",
    "usb-c cable",
    "coffee grinder",
    "wireless headphones",
    "yoga mat",
    "desk lamp",
    "winter jacket",
    "backpack",
    "phone case",
    "water bottle",
    "mechanical keyboard",
    "espresso",
    "tent",
    "sunglasses",
    "office chair",
    "blender",
    "gift card",
    "socks",
    "monitor 27",
    "kids bike",
    "pan set",
    "ssd 1tb",
    "rain boots",
    "linen shirt",
    "garden hose",
    "board game",
    "dog bed",
    "air fryer",
    "mouse",
    "café crème",
    "größe 42",
];

pub(crate) const CATEGORY_SLUGS: &[&str] = &[
    "electronics",
    "home-kitchen",
    "outdoor",
    "fashion",
    "sports",
    "toys",
    "garden",
    "office",
    "books",
    "pets",
];

pub(crate) const PRODUCT_ADJECTIVES: &[&str] = &[
    "classic",
    "ultra",
    "eco",
    "pro",
    "compact",
    "vintage",
    "smart",
    "lightweight",
    "premium",
    "everyday",
];

pub(crate) const PRODUCT_NOUNS: &[&str] = &[
    "backpack", "kettle", "sneaker", "lamp", "headset", "jacket", "blender", "chair", "mug",
    "tent", "watch", "speaker",
];

pub(crate) const PROMPT_OPENERS: &[&str] = &[
    "Summarize this support ticket",
    "Write a product description for",
    "Translate into German:",
    "Suggest three subject lines for",
    "Explain the return policy for",
    "Classify the sentiment of this review:",
    "Draft a polite reply to a customer asking about",
];

pub(crate) const PROMPT_TOPICS: &[&str] = &[
    "a delayed order",
    "the eco kettle",
    "a damaged package",
    "our loyalty program",
    "wireless headphones",
    "a refund request",
    "the winter sale",
    "shipping to Norway",
];

pub(crate) const TRANSFER_REFERENCES: &[&str] = &[
    "rent",
    "invoice 2231",
    "groceries",
    "gift",
    "savings",
    "utilities",
];

pub(crate) const LANGUAGES: &[&str] = &["en", "de", "fr", "es", "pl", "ja"];

/// Paths a vulnerability scanner probes, each with the status the synthetic servers answer.
pub(crate) const SCANNER_PROBES: &[(&str, u16)] = &[
    ("/.env", 404),
    ("/.env.production", 404),
    ("/.git/config", 403),
    ("/.git/HEAD", 403),
    ("/wp-login.php", 404),
    ("/wp-admin/setup-config.php", 404),
    ("/xmlrpc.php", 404),
    ("/admin/config.php", 404),
    ("/phpinfo.php", 404),
    ("/server-status", 403),
    ("/.aws/credentials", 404),
    ("/backup.sql", 404),
    ("/db.sql.gz", 404),
    ("/config.yml", 404),
    ("/actuator/env", 404),
    ("/actuator/health", 404),
    ("/swagger-ui.html", 404),
    ("/v2/api-docs", 404),
    ("/.DS_Store", 404),
    ("/.svn/entries", 404),
    ("/cgi-bin/luci", 404),
    ("/owa/auth/logon.aspx", 404),
    ("/solr/admin/info/system", 404),
    ("/telescope/requests", 404),
    ("/_profiler/phpinfo", 404),
    ("/manager/html", 404),
    ("/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", 404),
    ("/admin.php", 404),
    ("/login.action", 404),
    ("/.htaccess", 403),
    ("/web.config", 404),
    ("/debug/pprof/", 404),
    ("/graphql", 400),
    ("/console", 404),
    ("/robots.txt", 200),
    ("/sitemap.xml", 200),
    ("/.well-known/security.txt", 200),
    ("/api/v1/users", 404),
    ("/config.json", 404),
    ("/storage/logs/laravel.log", 404),
];
