package dev.sapienseg.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Families are told apart by what the model declares: channels and logits resolution. */
class ModelFamilyTest {

    @Test
    void eachKnownContractIsItsFamily() throws Exception {
        assertEquals(ModelFamily.SAPIENS, ModelFamily.of(28, 1024, 768, 512, 384));
        assertEquals(ModelFamily.SAPIENS2, ModelFamily.of(29, 1024, 768, 1024, 768));
        assertEquals(ModelFamily.FOREGROUND, ModelFamily.of(1, 1024, 768, 512, 384));
        assertEquals(Normalization.IMAGENET, ModelFamily.SAPIENS2.defaultNormalization(), "Sapiens2's seg configs");
        assertEquals(Normalization.LITE, ModelFamily.SAPIENS.defaultNormalization(), "Sapiens-Lite's demo");
    }

    @Test
    void anythingElseIsRefusedWithWhatIsExpected() {
        ModelLoadException halfResolution29 = assertThrows(ModelLoadException.class,
                () -> ModelFamily.of(29, 1024, 768, 512, 384));
        assertTrue(halfResolution29.getMessage().contains("29 classes at 512x384 for an input of 1024x768; expected 28 classes"
                + " at 512x384 (sapiens), or 29 classes at 1024x768 (sapiens2)"), halfResolution29.getMessage());
        assertThrows(ModelLoadException.class, () -> ModelFamily.of(52, 1024, 768, 1024, 768));
        assertThrows(ModelLoadException.class, () -> ModelFamily.of(28, 1024, 768, 256, 192));
    }
}
