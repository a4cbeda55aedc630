package dev.sapienseg.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.sapienseg.image.ImageFormat;

/** One vocabulary of outputs and one naming function for the batch folder and object storage. */
class OutputLayoutTest {

    @Test
    void sapiensFolderNamesAreTheDemos() {
        assertEquals(List.of("a.npy", "a_seg.npy", "a_seg.png", "a.jpg", "a_selection.png", "a_cutout.png",
                "a_alpha.png", "a_rle.json", "a_polygons.json", "a_instances.png", "a_logits.npy", "a.json"),
                OutputLayout.SAPIENS_FOLDER.fileNames("a", ".jpg"));
        assertEquals("A.JPEG", OutputLayout.SAPIENS_FOLDER.fileName(OutputKind.OVERLAY, "A", ".JPEG"));
        assertEquals("b.png", OutputLayout.SAPIENS_FOLDER.fileName(OutputKind.OVERLAY, "b", ".png"));
        for (String other : List.of(".webp", ".bmp", ".tif", ".TIFF")) {
            assertEquals("c.png", OutputLayout.SAPIENS_FOLDER.fileName(OutputKind.OVERLAY, "c", other), other);
        }
    }

    @Test
    void objectStoreNamesCarryTheOverlaySuffix() {
        assertEquals(List.of("p/a.jpg.npy", "p/a.jpg_seg.npy", "p/a.jpg_seg.png", "p/a.jpg_overlay.jpg",
                "p/a.jpg_selection.png", "p/a.jpg_cutout.png", "p/a.jpg_alpha.png", "p/a.jpg_rle.json",
                "p/a.jpg_polygons.json", "p/a.jpg_instances.png", "p/a.jpg_logits.npy", "p/a.jpg.json"),
                OutputLayout.OBJECT_STORE.fileNames("p/a.jpg", ".jpg"));
        assertEquals("k_overlay.png", OutputLayout.OBJECT_STORE.fileName(OutputKind.OVERLAY, "k", ".webp"));
    }

    @Test
    void theOverlayFormatRuleIsImageFormats() {
        for (ImageFormat format : ImageFormat.values()) {
            assertEquals(format.overlayFormat(), OutputLayout.overlayFormat(format.extension()));
        }
        assertEquals(ImageFormat.JPEG, OutputLayout.overlayFormat(".JPEG"));
        assertEquals(ImageFormat.PNG, OutputLayout.overlayFormat(".gif"));
    }

    @Test
    void everyKindHasOneDistinctNameAndMaskMeansTheForeground() {
        Set<String> ids = new HashSet<>();
        for (OutputKind kind : OutputKind.values()) {
            assertTrue(ids.add(kind.id()), kind.id());
            assertEquals(kind, OutputKind.of(kind.id().toUpperCase()));
        }
        assertEquals(EnumSet.of(OutputKind.MASK_NPY, OutputKind.OVERLAY),
                OutputSet.parse("overlay, mask-npy,,  ").kinds());
        assertEquals(EnumSet.noneOf(OutputKind.class), OutputSet.parse(" None ").kinds());
        IllegalArgumentException old = assertThrows(IllegalArgumentException.class, () -> OutputKind.of("mask"));
        assertTrue(old.getMessage().contains("class-png") && old.getMessage().contains("mask-npy"), old.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OutputKind.of("depth")).getMessage()
                .contains("'depth'"));
    }
}
