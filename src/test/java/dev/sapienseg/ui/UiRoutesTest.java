package dev.sapienseg.ui;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.startsWith;

import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** The page's files and the model it shows, over HTTP; the page in a browser is {@link UiPageIT}'s. */
@QuarkusTest
class UiRoutesTest {

    @Test
    void thePageAndItsFilesCarryAStrictPolicy() {
        given().redirects().follow(false).get("/ui").then().statusCode(302).header("Location", "/ui/");
        for (String file : new String[] {"/ui/", "/ui/app.js", "/ui/style.css"}) {
            given().get(file).then().statusCode(200).header("Content-Security-Policy", equalTo(UiRoutes.CSP))
                    .header("X-Content-Type-Options", "nosniff");
        }
        given().get("/ui/").then().contentType(startsWith("text/html"))
                .body(containsString("<script src=\"app.js\" defer></script>"));
        given().get("/ui/nothing.js").then().statusCode(404);
    }

    @Test
    void theModelIsTheServedOnesWithItsClassesAndGroups() {
        Readiness.awaitReady();
        given().get("/ui/model.json").then().statusCode(200)
                .body("name", equalTo("sapiens-palette-demo")).body("demo", equalTo(true))
                .body("family", equalTo("sapiens")).body("classes.size()", equalTo(28))
                .body("classes[3].name", equalTo("Hair")).body("classes[3].rgb.size()", equalTo(3))
                .body("groups", hasItems("person", "hair", "face")).body("requestType", equalTo("sapiens.segment"))
                .body("defaultSelection", equalTo("person"));
    }

    /** {@code sapiens.ui.enabled=false}: no page at all. */
    @QuarkusTest
    @TestProfile(Disabled.Profile.class)
    static class Disabled {

        public static class Profile implements QuarkusTestProfile {
            @Override
            public Map<String, String> getConfigOverrides() {
                return Map.of("sapiens.ui.enabled", "false");
            }
        }

        @Test
        void noPage() {
            given().get("/ui/").then().statusCode(404);
            given().get("/ui/model.json").then().statusCode(404);
        }
    }
}
