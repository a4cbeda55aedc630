package dev.sapienseg.classes;

import java.util.List;

/**
 * The 28 Goliath body-part classes that Sapiens segments, with the palette of Sapiens-Lite's
 * {@code classes_and_palettes.py} (RGB order).
 */
public final class GoliathClasses {

    public static final int COUNT = dev.sapienseg.model.ModelContract.GOLIATH_CLASSES;

    private static final List<String> NAMES = List.of(
            "Background", "Apparel", "Face_Neck", "Hair", "Left_Foot", "Left_Hand", "Left_Lower_Arm",
            "Left_Lower_Leg", "Left_Shoe", "Left_Sock", "Left_Upper_Arm", "Left_Upper_Leg", "Lower_Clothing",
            "Right_Foot", "Right_Hand", "Right_Lower_Arm", "Right_Lower_Leg", "Right_Shoe", "Right_Sock",
            "Right_Upper_Arm", "Right_Upper_Leg", "Torso", "Upper_Clothing", "Lower_Lip", "Upper_Lip",
            "Lower_Teeth", "Upper_Teeth", "Tongue");

    private static final int[][] PALETTE_RGB = {
            {50, 50, 50}, {255, 218, 0}, {128, 200, 255}, {255, 0, 109}, {189, 0, 204}, {255, 0, 218},
            {0, 160, 204}, {0, 255, 145}, {204, 0, 131}, {182, 0, 255}, {255, 109, 0}, {0, 255, 255},
            {72, 0, 255}, {204, 131, 0}, {255, 0, 0}, {72, 255, 0}, {189, 204, 0}, {182, 255, 0},
            {102, 0, 204}, {32, 72, 204}, {0, 145, 255}, {14, 204, 0}, {0, 128, 72}, {235, 205, 119},
            {115, 227, 112}, {157, 113, 143}, {132, 93, 50}, {82, 21, 114}};

    /** Names used for one-channel (foreground/background) models. */
    private static final List<String> BINARY_NAMES = List.of("Background", "Foreground");

    private GoliathClasses() {
    }

    public static String name(int id) {
        return NAMES.get(id);
    }

    /** Class names for a model with {@code channels} output channels (28, or 1 for a sigmoid foreground model). */
    public static List<String> namesFor(int channels) {
        return channels == 1 ? BINARY_NAMES : NAMES;
    }

    /** Palette colour of a class, RGB. Class ids of one-channel models (0/1) use the first two colours' slots. */
    public static int[] rgb(int id) {
        return PALETTE_RGB[id].clone();
    }
}
