//! Invoices at a reseller's scale: one invoice PDF made in-process (Turkish in TRY with VAT,
//! English in Stars), timed one at a time after the first (which parses the embedded fonts),
//! and a year of 10,000 invoices listed for the admin, both by the domain function and
//! through `GET /api/v1/billing/invoices?year=` (JSON included), side by side in one run.
//!
//! `cargo bench --bench invoices [-- invoices pdfs]` (defaults 10000 and 200).

use std::time::Instant;

use botyard::domain::billing::{pdf, report};
use botyard_shards::ids::{PlanId, TenantId};
use botyard_shards::records::{
    InvoiceKindRec, InvoiceLineRec, InvoiceRec, Language, TenantRec, TenantStatus,
};
use botyard_shards::{Store, StoreConfig};

mod common;

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "kirmizi-fener-1907";
/// 2026-06-01.
const T0: i64 = 1_780_272_000;
const PER_TENANT: usize = 100;

fn invoice(tenant: TenantId, i: usize, stars: bool) -> InvoiceRec {
    let (currency, total, tax_bp, language) = if stars {
        ("XTR", 300, 0, Language::En)
    } else {
        ("TRY", 49_900 + i as u64, 2000, Language::Tr)
    };
    let (net, tax) = botyard::domain::billing::split_tax(total, tax_bp);
    InvoiceRec {
        number: String::new(),
        tenant,
        payment: i as u64,
        issued_at: T0 + (i as i64) * 60,
        currency: currency.into(),
        lines: vec![InvoiceLineRec {
            description: if stars {
                "Temel plan · 30 days".into()
            } else {
                "Temel planı · 30 gün".into()
            },
            quantity: 1,
            amount: total,
        }],
        tax_rate_bp: tax_bp,
        net,
        tax,
        total,
        seller: "Yıldız Yazılım A.Ş.".into(),
        buyer: format!("Dükkan {} Gıda Ltd. Şti.", tenant.0),
        reference: format!("EFT-2026-{i:06}"),
        kind: InvoiceKindRec::Invoice,
        corrects: None,
        seller_lines: vec![
            "Bağdat Cad. 100".into(),
            "Göztepe / İstanbul".into(),
            "Vergi dairesi: Göztepe · Vergi no: 9876543210".into(),
        ],
        buyer_lines: vec!["Moda Cad. 12".into(), "Kadıköy / İstanbul".into()],
        language,
    }
}

/// `n` invoices of this year over `n / 100` tenants.
fn fill(dir: &std::path::Path, n: usize) {
    let store = Store::open(&StoreConfig {
        dir: dir.to_path_buf(),
        shards: 4,
        catalog_cache_bytes: 32 << 20,
        shard_cache_bytes: 16 << 20,
    })
    .expect("store");
    let admin = store.system_admin();
    let recs: Vec<TenantRec> = (0..n.div_ceil(PER_TENANT))
        .map(|i| TenantRec {
            name: format!("Dükkan {i}"),
            status: TenantStatus::Active,
            plan: Some(PlanId(1)),
            created_at: T0,
            updated_at: T0,
        })
        .collect();
    let ids = admin.create_tenants(&recs).expect("tenants");
    let mut made = 0;
    for t in ids {
        let scope = admin.tenant(t).expect("scope");
        scope
            .catalog_write(|c| {
                for i in 0..PER_TENANT.min(n - made) {
                    c.insert_invoice(2026, invoice(t, made + i, i % 3 == 0))?;
                }
                Ok::<_, botyard_shards::StoreError>(())
            })
            .expect("invoices");
        made += PER_TENANT.min(n - made);
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let n: usize = args.first().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let pdfs: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(200);

    // PDFs, one at a time.
    let first = Instant::now();
    let bytes = pdf::render(&invoice(TenantId(1), 0, false)).expect("pdf");
    let cold = first.elapsed().as_secs_f64() * 1000.0;
    let (mut tr, mut xtr) = (Vec::new(), Vec::new());
    let mut size = (0usize, 0usize);
    for i in 0..pdfs {
        let stars = i % 2 == 1;
        let inv = invoice(TenantId(1), i, stars);
        let t = Instant::now();
        let b = pdf::render(&inv).expect("pdf");
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert!(b.starts_with(b"%PDF-"));
        if stars {
            xtr.push(ms);
            size.1 = b.len();
        } else {
            tr.push(ms);
            size.0 = b.len();
        }
    }
    println!(
        "invoice PDF: first {cold:.1} ms (fonts parsed, {} bytes); then median {:.2} ms Turkish TRY ({} bytes), {:.2} ms English XTR ({} bytes) over {pdfs} (target: under 20 ms)",
        bytes.len(),
        common::median(&mut tr),
        size.0,
        common::median(&mut xtr),
        size.1
    );

    // A year of invoices listed.
    let dir = common::private_tempdir();
    let t = Instant::now();
    fill(dir.path(), n);
    println!("{n} invoices written in {:.1} s", t.elapsed().as_secs_f64());
    let c = common::store_config(dir.path(), ADMIN_EMAIL, ADMIN_PASSWORD);
    let running = common::start(c).await;
    let base = running.ready.base_url.clone();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let token = common::api_login(&http, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let store = running.ready.store.upgrade().expect("store");
    let (mut direct, mut api) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let t = Instant::now();
        let rows = report::invoices_of_year(&store, 2026).expect("list");
        direct.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(rows.len(), n);
        let t = Instant::now();
        let r = http
            .get(format!("{base}/api/v1/billing/invoices?year=2026"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list");
        assert_eq!(r.status(), 200);
        let body = r.bytes().await.expect("body");
        api.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(body.len() > n * 100);
    }
    drop(store);
    println!(
        "{n} invoices of a year: median {:.1} ms read from the store, {:.1} ms through the API as JSON (target: under 50 ms)",
        common::median(&mut direct),
        common::median(&mut api)
    );
    running.shutdown().await;
}
