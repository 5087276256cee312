//! The media store conformance suite on the local-directory backend.

async fn fresh() -> vidgate_engine::files::MediaStore {
    let root = std::env::temp_dir().join(format!("vidgate-media-{}", ulid::Ulid::new()));
    vidgate_engine::files::MediaStore::local(root).expect("local media store")
}

vidgate_engine::media_conformance_tests!(fresh());
