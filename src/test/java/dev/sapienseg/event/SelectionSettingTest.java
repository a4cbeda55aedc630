package dev.sapienseg.event;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * A default selection the served model's classes cannot meet (Sapiens2's Eyeglass on a v1 model) is a settings error
 * found when the model loads: not ready, with the setting and the reason in the readiness data.
 */
@QuarkusTest
@TestProfile(SelectionSettingTest.Profile.class)
class SelectionSettingTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("sapiens.selection.classes", "face+eyeglass");
        }
    }

    @Test
    void aSelectionTheModelCannotMeetKeepsThePodUnready() {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60))
                .until(() -> given().get("/q/health/ready").body().asString().contains("failed"));
        given().get("/q/health/ready").then().statusCode(503)
                .body("checks.find { it.name == 'sapiens-model' }.data.phase", equalTo("failed"))
                .body("checks.find { it.name == 'sapiens-model' }.data.reason",
                        containsString("sapiens.selection.classes does not fit the model served"))
                .body("checks.find { it.name == 'sapiens-model' }.data.reason", containsString("'eyeglass'"));
    }
}
