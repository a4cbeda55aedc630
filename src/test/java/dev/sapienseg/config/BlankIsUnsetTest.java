package dev.sapienseg.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.sapienseg.lifecycle.ModelRuntime;
import dev.sapienseg.provisioning.ModelChoice;

/**
 * A blank optional setting is read as unset when the configuration is read, so that no reader has to filter it: a
 * manifest's {@code SAPIENS_MODEL_URI=" "} serves the demo model instead of failing on a URI made of spaces.
 */
class BlankIsUnsetTest {

    @Test
    void blankOptionalTextSettingsAreEmpty() {
        SapiensConfig config = StandaloneConfig.sapiens(StandaloneConfig.load(Map.of("sapiens.model.uri", "  ",
                "sapiens.model.path", "\t", "sapiens.model.served-name", " ", "sapiens.storage.output-bucket", " ",
                "sapiens.storage.webhook-secret", "  ", "sapiens.model.sha256", " ")));
        assertEquals(Optional.empty(), config.model().uri());
        assertEquals(Optional.empty(), config.model().path());
        assertEquals(Optional.empty(), config.model().servedName());
        assertEquals(Optional.empty(), config.model().sha256());
        assertEquals(Optional.empty(), config.storage().outputBucket());
        assertEquals(Optional.empty(), config.storage().webhookSecret());
    }

    @Test
    void aBlankLocationFallsBackToTheDemo() throws Exception {
        SapiensConfig config = StandaloneConfig.sapiens(StandaloneConfig.load(Map.of("sapiens.model.uri", " ",
                "sapiens.model.preset", " ")));
        ModelChoice choice = ModelRuntime.choose(config.model(), ModelChoice.Names.SERVER);
        assertTrue(choice.demo(), choice.toString());
    }
}
