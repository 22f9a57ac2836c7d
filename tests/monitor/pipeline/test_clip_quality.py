"""Evidence frames come from a full-quality decoder, never from detection's cheaper one.

Workers detect on frames decoded without H.264 deblocking (about a third cheaper). Skipped
deblocking also changes the reference frames, so the error grows until the next keyframe:
a clip built from those frames would not show what the camera sent. This checks, on a
heavily compressed stream with long GOPs, that the clip matches a normal decode.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import av
import numpy as np

from tests.fixtures import media, scenes
from tests.monitor.pipeline.test_analyze import START, _analyze, _sealed_metadata, _site

GOP = 100


def decode_gray(path: Path, options: dict[str, str] | None = None) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if options:
            stream.codec_context.options = options
        return [frame.to_ndarray(format="gray").astype(np.float32) for frame in container.decode(stream)]


def test_clip_frames_match_a_deblocked_decode(tmp_path: Path) -> None:
    rendered = scenes.walk_through(tmp_path / "walk.mp4", seconds=8)
    # Re-encode as a cheap camera would: coarse quantisation, a keyframe every 4 s.
    blocky = tmp_path / "blocky.mp4"
    with av.open(str(rendered.path)) as source:
        images = [frame.to_ndarray(format="rgb24") for frame in source.decode(video=0)]
    media.write_video(blocky, images, fps=rendered.fps, gop=GOP,
                      options={"crf": "42", "preset": "veryfast", "bframes": "0"})
    full = decode_gray(blocky)
    skipped = decode_gray(blocky, {"skip_loop_filter": "all"})

    scene = scenes.Scene(blocky, rendered.style, rendered.walkers, rendered.polygons, rendered.coverage)
    events = _analyze(_site(tmp_path, scene), blocky)
    assert len(events) == 1, events
    encoded = decode_gray(Path(str(events[0]["clip"])))
    placement = _sealed_metadata(tmp_path, str(events[0]["clip_id"]))["placement"]
    clip = []  # the encoded rectangle put back where it lies in the frame
    for part in encoded:
        canvas = np.zeros_like(full[0])
        canvas[placement["y"]:placement["y"] + part.shape[0], placement["x"]:placement["x"] + part.shape[1]] = part
        clip.append(canvas)
    first = round((datetime.fromisoformat(str(events[0]["start"])) - datetime.fromisoformat(START))
                  .total_seconds() * rendered.fps)

    # Compare inside the hotspot (the only unmasked area), away from its edges.
    height, width = clip[0].shape
    xs = [x * width for x, _ in scene.polygons["zone"]]
    ys = [y * height for _, y in scene.polygons["zone"]]
    window = (slice(int(min(ys)) + 4, int(max(ys)) - 4), slice(int(min(xs)) + 4, int(max(xs)) - 4))
    to_full = [np.abs(c[window] - full[first + i][window]).mean() for i, c in enumerate(clip)]
    to_skipped = [np.abs(c[window] - skipped[first + i][window]).mean() for i, c in enumerate(clip)]
    shortcut_error = np.mean([np.abs(f[window] - s[window]).mean() for f, s in zip(full, skipped)])

    assert shortcut_error > 1.0, "the stream should be blocky enough for deblocking to matter"
    assert np.mean(to_full) < 0.5 * np.mean(to_skipped), (np.mean(to_full), np.mean(to_skipped))
