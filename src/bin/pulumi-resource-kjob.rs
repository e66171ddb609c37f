//! `pulumi-resource-kjob`: the Pulumi resource provider for `kjob:index:KubernetesJob`.

#[tokio::main]
async fn main() {
    kjob::logging::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = kjob::provider::serve(args).await {
        eprintln!("pulumi-resource-kjob: {e}");
        std::process::exit(1);
    }
}
