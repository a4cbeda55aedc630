package dev.sapienseg.classes;

import java.util.ArrayList;
import java.util.List;

import dev.sapienseg.model.ModelFamily;

/**
 * The classes of one model family: names by id, the palette its own visualiser paints with, and how that visualiser
 * blends the palette into the picture. Replies, statistics, palette PNGs, overlays and {@code .npy} files follow the
 * vocabulary of the model being served.
 *
 * <ul>
 * <li>{@link #GOLIATH_28}: Sapiens v1 (Sapiens-Lite's {@code classes_and_palettes.py}); overlay
 * {@code trunc(0.5 × pixel + 0.5 × colour)}.</li>
 * <li>{@link #DOME_29}: Sapiens2 ({@code sapiens/dense/src/datasets/seg/seg_utils.py} {@code DOME_CLASSES_29}, the
 * {@code dome29} palette of its {@code SegVisualizer}): Goliath's classes with Eyeglass inserted at 2 (v1 id k ≥ 2 is
 * k + 1); overlay {@code cv2.addWeighted(pixel, 0.5, colour, 0.5, 0)}, which rounds half to even.</li>
 * <li>{@link #FOREGROUND}: Background and Foreground, painted with Goliath's first two colours.</li>
 * </ul>
 */
public record Vocabulary(String name, List<String> names, int[][] paletteRgb, Blend blend) {

    /** How the overlay mixes a pixel with its class colour, as the family's visualiser does it. */
    public enum Blend {
        /** {@code (pixel + colour) >> 1} (Sapiens v1: numpy float product truncated to uint8). */
        TRUNCATE,
        /** {@code round-half-even((pixel + colour) / 2)} (Sapiens2: {@code cv2.addWeighted} with 0.5 and 0.5). */
        ROUND_HALF_EVEN
    }

    public static final Vocabulary GOLIATH_28 = new Vocabulary("goliath-28", GoliathClasses.namesFor(28),
            palette(GoliathClasses.COUNT), Blend.TRUNCATE);

    public static final Vocabulary DOME_29 = dome29();

    public static final Vocabulary FOREGROUND = new Vocabulary("foreground", GoliathClasses.namesFor(1), palette(2),
            Blend.TRUNCATE);

    /** The vocabulary of a model family. */
    public static Vocabulary of(ModelFamily family) {
        return switch (family) {
            case SAPIENS -> GOLIATH_28;
            case SAPIENS2 -> DOME_29;
            case FOREGROUND -> FOREGROUND;
        };
    }

    /** The palette flattened to r,g,b triplets (PNG PLTE chunks). */
    public byte[] paletteRgbBytes() {
        byte[] out = new byte[paletteRgb.length * 3];
        for (int i = 0; i < paletteRgb.length; i++) {
            out[3 * i] = (byte) paletteRgb[i][0];
            out[3 * i + 1] = (byte) paletteRgb[i][1];
            out[3 * i + 2] = (byte) paletteRgb[i][2];
        }
        return out;
    }

    /** The palette as b,g,r triplets (OpenCV pictures). */
    public byte[] paletteBgrBytes() {
        byte[] rgb = paletteRgbBytes();
        byte[] bgr = new byte[rgb.length];
        for (int i = 0; i < rgb.length; i += 3) {
            bgr[i] = rgb[i + 2];
            bgr[i + 1] = rgb[i + 1];
            bgr[i + 2] = rgb[i];
        }
        return bgr;
    }

    /** One channel of the overlay: the pixel value mixed with the class colour's, as the family's visualiser does. */
    public int blend(int pixel, int colour) {
        int sum = pixel + colour;
        int half = sum >> 1;
        return blend == Blend.ROUND_HALF_EVEN && (sum & 1) == 1 && (half & 1) == 1 ? half + 1 : half;
    }

    private static int[][] palette(int count) {
        int[][] out = new int[count][];
        for (int i = 0; i < count; i++) {
            out[i] = GoliathClasses.rgb(i);
        }
        return out;
    }

    private static Vocabulary dome29() {
        List<String> names = new ArrayList<>(GoliathClasses.namesFor(28));
        names.add(2, "Eyeglass");
        int[][] palette = new int[29][];
        for (int v1 = 0, id = 0; id < 29; id++) {
            palette[id] = id == 2 ? new int[] {14, 204, 182} : GoliathClasses.rgb(v1++);
        }
        return new Vocabulary("dome-29", List.copyOf(names), palette, Blend.ROUND_HALF_EVEN);
    }
}
