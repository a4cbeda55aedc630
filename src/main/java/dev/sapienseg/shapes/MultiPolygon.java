package dev.sapienseg.shapes;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

/**
 * The polygons of one class as a GeoJSON {@code MultiPolygon} geometry ({@code {"type": "MultiPolygon",
 * "coordinates": [[outer, hole, …], …]}}), in pixel-corner coordinates: {@code (0, 0)} is the picture's top-left
 * corner and pixel {@code (x, y)} is the square {@code [x, x+1] × [y, y+1]}. Each ring is closed (its first point
 * repeated last). Read as plain numbers, exterior rings turn counter-clockwise and holes clockwise, as RFC 7946's
 * right-hand rule asks (on screen, where y grows downwards, they look the other way round).
 *
 * @param polygons each polygon's rings, the exterior first; a ring is {@code x0, y0, x1, y1, …} without the closing
 *        point
 */
@JsonSerialize(using = MultiPolygon.Writer.class)
public record MultiPolygon(List<List<int[]>> polygons) {

    /** Vertices of every ring, closing points not counted. */
    public long vertices() {
        long n = 0;
        for (List<int[]> polygon : polygons) {
            for (int[] ring : polygon) {
                n += ring.length / 2;
            }
        }
        return n;
    }

    static final class Writer extends JsonSerializer<MultiPolygon> {
        @Override
        public void serialize(MultiPolygon value, JsonGenerator out, SerializerProvider provider) throws IOException {
            out.writeStartObject();
            out.writeStringField("type", "MultiPolygon");
            out.writeArrayFieldStart("coordinates");
            for (List<int[]> polygon : value.polygons()) {
                out.writeStartArray();
                for (int[] ring : polygon) {
                    out.writeStartArray();
                    for (int i = 0; i <= ring.length; i += 2) {
                        int at = i % ring.length; // the closing point is the first
                        out.writeStartArray();
                        out.writeNumber(ring[at]);
                        out.writeNumber(ring[at + 1]);
                        out.writeEndArray();
                    }
                    out.writeEndArray();
                }
                out.writeEndArray();
            }
            out.writeEndArray();
            out.writeEndObject();
        }
    }
}
