-- The images besides the first frame that guide a task: its last frame and its reference
-- images, in the order the client sent them (position 0, 1, ...).
CREATE TABLE task_guide_images (
    task_id  TEXT NOT NULL REFERENCES tasks(id),
    position INTEGER NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('last_frame', 'asset', 'style')),
    mime     TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    bytes    BLOB NOT NULL,
    PRIMARY KEY (task_id, position)
);
