"""A real RTSP server that loops an H.264 MP4 without transcoding (GStreamer).

Run with Debian's ``/usr/bin/python3`` (``gi`` is not in the project's virtualenv):
``/usr/bin/python3 rtsp_server.py FILE PORT``; PORT 0 picks a free one. It prints
``READY rtsp://127.0.0.1:<port>/stream`` once it accepts connections.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

LAUNCH = "( appsrc name=src format=time ! rtph264pay name=pay0 pt=96 config-interval=1 )"


def read_access_units(path: str) -> tuple[Gst.Caps, list[Gst.Buffer]]:
    """Every H.264 access unit of the file, deep-copied, with the stream's caps."""
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! qtdemux ! video/x-h264 ! appsink name=sink sync=false'
    )
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    buffers, caps = [], None
    while (sample := sink.emit("pull-sample")) is not None:
        caps = sample.get_caps()
        buffers.append(sample.get_buffer().copy_deep())
    pipeline.set_state(Gst.State.NULL)
    if caps is None or not buffers:
        raise SystemExit(f"no H.264 video in {path}")
    return caps, buffers


class LoopingFeed:
    """Feeds one client's appsrc, shifting timestamps by a file period on every loop."""

    def __init__(self, appsrc: Gst.Element, buffers: list[Gst.Buffer]) -> None:
        self.appsrc = appsrc
        self.buffers = buffers
        last = buffers[-1]
        self.period = last.pts + (last.duration if last.duration != Gst.CLOCK_TIME_NONE else 0)
        self.position = 0
        appsrc.connect("need-data", self.feed)

    def feed(self, appsrc: Gst.Element, _length: int) -> None:
        loop, index = divmod(self.position, len(self.buffers))
        buffer = self.buffers[index].copy_deep()
        shift = loop * self.period
        buffer.pts += shift
        if buffer.dts != Gst.CLOCK_TIME_NONE:
            buffer.dts += shift
        self.position += 1
        appsrc.emit("push-buffer", buffer)


def main() -> None:
    path, port = sys.argv[1], sys.argv[2]
    Gst.init(None)
    caps, buffers = read_access_units(path)
    feeds: list[LoopingFeed] = []

    def configure(_factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
        appsrc = media.get_element().get_by_name_recurse_up("src")
        appsrc.set_property("caps", caps)
        feeds.append(LoopingFeed(appsrc, buffers))

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(LAUNCH)
    factory.connect("media-configure", configure)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    server.get_mount_points().add_factory("/stream", factory)
    server.attach(None)
    print(f"READY rtsp://127.0.0.1:{server.get_bound_port()}/stream", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
