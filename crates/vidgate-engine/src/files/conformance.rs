//! The contract every [`MediaStore`] backend keeps. Each backend's test binary expands
//! [`media_conformance_tests!`](crate::media_conformance_tests) with a factory expression
//! giving a fresh, empty store.

use futures::TryStreamExt;
use vidgate_domain::TaskId;

use super::{MediaError, MediaStore};

/// One test per check below, each on a store from `$factory` (an expression, awaited).
#[macro_export]
macro_rules! media_conformance_tests {
    ($factory:expr) => {
        $crate::media_conformance_tests!(@each $factory;
            a_put_file_reads_back_whole_with_its_size, a_range_reads_exactly_those_bytes,
            a_range_past_the_end_is_refused_and_a_long_one_is_clamped, a_missing_file_is_not_found,
            delete_removes_every_file_of_the_task_and_only_those, deleting_nothing_is_not_an_error,
            a_second_put_adds_files_next_to_the_first);
    };
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store: $crate::files::MediaStore = $factory.await;
                $crate::files::conformance::$name(store).await;
            }
        )*
    };
}

/// `len` bytes that differ from offset to offset, so a wrong range shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + i / 251) as u8).wrapping_add(seed)).collect()
}

/// Puts `files` (name, bytes) for `task` through a scratch dir, as the worker does.
async fn put(store: &MediaStore, task: &TaskId, files: &[(&str, &[u8])]) {
    let scratch = store.scratch(task).expect("scratch dir");
    let mut paths = Vec::new();
    for (name, bytes) in files {
        let path = scratch.join(name);
        std::fs::write(&path, bytes).expect("scratch file");
        paths.push((path, *name));
    }
    let refs: Vec<(&std::path::Path, &str)> = paths.iter().map(|(p, n)| (p.as_path(), *n)).collect();
    store.put(task, &refs).await.expect("put");
    let _ = std::fs::remove_dir_all(&scratch);
}

async fn read(store: &MediaStore, task: &TaskId, name: &str, start: u64, len: u64) -> Result<Vec<u8>, MediaError> {
    let stream = store.read(task, name, start, len).await?;
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.expect("stream");
    Ok(chunks.concat())
}

pub async fn a_put_file_reads_back_whole_with_its_size(store: MediaStore) {
    let task = TaskId::generate();
    let video = pattern(300 * 1024, 1);
    put(&store, &task, &[("video.mp4", &video), ("thumbnail.png", b"png")]).await;
    assert_eq!(store.size(&task, "video.mp4").await.expect("size"), 307_200);
    assert_eq!(store.size(&task, "thumbnail.png").await.expect("size"), 3);
    assert!(read(&store, &task, "video.mp4", 0, 307_200).await.expect("read") == video);
    assert_eq!(read(&store, &task, "thumbnail.png", 0, 3).await.expect("read"), b"png");
}

pub async fn a_range_reads_exactly_those_bytes(store: MediaStore) {
    let task = TaskId::generate();
    let video = pattern(300 * 1024, 2);
    put(&store, &task, &[("video.mp4", &video)]).await;
    assert!(read(&store, &task, "video.mp4", 1000, 5000).await.expect("read") == video[1000..6000]);
    assert!(read(&store, &task, "video.mp4", 307_199, 1).await.expect("read") == video[307_199..]);
    assert!(read(&store, &task, "video.mp4", 0, 1).await.expect("read") == video[..1]);
}

pub async fn a_range_past_the_end_is_refused_and_a_long_one_is_clamped(store: MediaStore) {
    let task = TaskId::generate();
    put(&store, &task, &[("audio.m4a", b"0123456789")]).await;
    assert_eq!(read(&store, &task, "audio.m4a", 4, 100).await.expect("read"), b"456789");
    match read(&store, &task, "audio.m4a", 10, 1).await {
        Err(MediaError::BadRange { start: 10, len: 1, size: 10 }) => {}
        other => panic!("expected BadRange, got {other:?}"),
    }
}

pub async fn a_missing_file_is_not_found(store: MediaStore) {
    let task = TaskId::generate();
    assert!(matches!(store.size(&task, "video.mp4").await, Err(MediaError::NotFound { .. })));
    assert!(matches!(store.read(&task, "video.mp4", 0, 1).await, Err(MediaError::NotFound { .. })));
    put(&store, &task, &[("video.mp4", b"v")]).await;
    assert!(matches!(store.size(&task, "audio.m4a").await, Err(MediaError::NotFound { .. })));
    assert!(matches!(store.read(&task, "audio.m4a", 0, 1).await, Err(MediaError::NotFound { .. })));
}

pub async fn delete_removes_every_file_of_the_task_and_only_those(store: MediaStore) {
    let (gone, kept) = (TaskId::generate(), TaskId::generate());
    put(&store, &gone, &[("video.mp4", b"gone"), ("spritesheet.png", b"sheet")]).await;
    put(&store, &kept, &[("video.mp4", b"kept")]).await;
    store.delete(&gone).await.expect("delete");
    assert!(matches!(store.size(&gone, "video.mp4").await, Err(MediaError::NotFound { .. })));
    assert!(matches!(store.size(&gone, "spritesheet.png").await, Err(MediaError::NotFound { .. })));
    assert_eq!(read(&store, &kept, "video.mp4", 0, 4).await.expect("read"), b"kept");
}

pub async fn deleting_nothing_is_not_an_error(store: MediaStore) {
    let task = TaskId::generate();
    store.delete(&task).await.expect("delete of nothing");
    put(&store, &task, &[("video.mp4", b"v")]).await;
    store.delete(&task).await.expect("delete");
    store.delete(&task).await.expect("second delete");
}

pub async fn a_second_put_adds_files_next_to_the_first(store: MediaStore) {
    let task = TaskId::generate();
    put(&store, &task, &[("video.mp4", b"video")]).await;
    put(&store, &task, &[("audio.m4a", b"audio")]).await;
    assert_eq!(read(&store, &task, "video.mp4", 0, 5).await.expect("read"), b"video");
    assert_eq!(read(&store, &task, "audio.m4a", 0, 5).await.expect("read"), b"audio");
}
