package dev.sapienseg.oip;

import dev.sapienseg.fixtures.Profiles;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Several pictures in one request are several batch entries: with batches of 2 that would otherwise wait an hour,
 * a request of two pictures runs at once, in one model run (the execution count grows by one, the inference count
 * by two).
 */
@QuarkusTest
@TestProfile(InferenceProtocolBatchingTest.Profile.class)
@Tag("timing")
class InferenceProtocolBatchingTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Profiles.heldBatches(2, "20s");
        }
    }

    private static double meter(String series) {
        return given().get("/q/metrics").asString().lines().filter(l -> l.startsWith(series + " "))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(0);
    }

    @Test
    void theEntriesOfOneRequestShareAModelRun() throws Exception {
        Readiness.awaitReady();
        byte[] picture = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);
        String runs = "sapiens_inference_exec_count_total{model=\"sapiens-palette-demo\"}";
        String pictures = "sapiens_inference_count_total{model=\"sapiens-palette-demo\"}";
        double runsBefore = meter(runs);
        double picturesBefore = meter(pictures);

        OipClient.Parsed parsed = OipClient.parse(OipClient.postBinary(List.of(picture, picture),
                Map.of("class_map", true)));
        JsonNode statistics = OipClient.JSON.readTree(parsed.json().get("parameters").get("statistics").asText());
        assertEquals(2, statistics.size());
        for (JsonNode entry : statistics) {
            assertEquals(2, entry.get("batchSize").asInt(), "both pictures ran in one batch: " + entry);
        }
        assertEquals(runsBefore + 1, meter(runs), 0.0);
        assertEquals(picturesBefore + 2, meter(pictures), 0.0);
    }
}
