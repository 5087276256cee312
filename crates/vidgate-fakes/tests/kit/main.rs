//! Tests of the fake upstreams themselves, written from docs/upstreams.md and docs/api.md: each test
//! starts a fake on loopback and talks to it with reqwest as an adapter would.

mod helpers;

mod comfyui;
mod dashscope;
mod fal;
mod faults;
mod gemini;
mod kling;
mod luma;
mod minimax;
mod modelark;
mod openai;
mod runway;
mod vertex;
mod vidgate;
