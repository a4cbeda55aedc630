package dev.sapienseg.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.sapienseg.output.OutputKind;

/**
 * The output settings are checked when the configuration is read, so a bad entry stops the start naming the setting
 * and the entry, instead of failing every request (the server and the batch command read them the same way).
 */
class OutputSettingsTest {

    private static SapiensConfig with(Map<String, String> settings) {
        return StandaloneConfig.sapiens(StandaloneConfig.load(settings));
    }

    @Test
    void theDefaultsAreTheDocumentedOnes() {
        SapiensConfig config = with(Map.of());
        assertEquals(List.of(OutputKind.MASK_NPY, OutputKind.CLASS_NPY, OutputKind.CLASS_PNG, OutputKind.OVERLAY,
                OutputKind.SUMMARY), List.copyOf(config.storage().outputs().kinds()));
        assertEquals(List.of(OutputKind.CLASS_PNG), List.copyOf(config.events().defaultOutputs().kinds()));
    }

    @Test
    void namesAreReadInAnyCaseAndNoneMeansNothing() {
        SapiensConfig config = with(Map.of("sapiens.storage.outputs", " Class-NPY ,overlay",
                "sapiens.events.default-outputs", "none"));
        assertEquals(List.of(OutputKind.CLASS_NPY, OutputKind.OVERLAY), List.copyOf(config.storage().outputs().kinds()));
        assertEquals(List.of(), List.copyOf(config.events().defaultOutputs().kinds()));
    }

    @Test
    void anUnknownEntryStopsTheStartNamingIt() {
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> with(Map.of("sapiens.storage.outputs", "mask-npy,depth")));
        String message = messages(e);
        assertTrue(message.contains("sapiens.storage.outputs") && message.contains("'depth'"), message);

        e = assertThrows(RuntimeException.class, () -> with(Map.of("sapiens.events.default-outputs", "mask")));
        message = messages(e);
        assertTrue(message.contains("sapiens.events.default-outputs") && message.contains("class-png"), message);
    }

    private static String messages(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            all.append(t.getMessage()).append(" | ");
        }
        return all.toString();
    }
}
