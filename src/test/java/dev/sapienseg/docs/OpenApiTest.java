package dev.sapienseg.docs;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;

/**
 * The OpenAPI description at {@code /q/openapi} against the real routes, so that neither drifts: every path and
 * method it documents answers (with the failure its operation documents for an empty request, never the framework's
 * 404 or 405), and every route of the application is documented, with its methods.
 */
@QuarkusTest
class OpenApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    Router router;

    private JsonNode document() throws Exception {
        Response response = given().accept("application/json").get("/q/openapi?format=json");
        assertEquals(200, response.statusCode(), response.asString());
        return JSON.readTree(response.asByteArray());
    }

    @Test
    void everyDocumentedOperationAnswersWithAStatusItDocuments() throws Exception {
        Readiness.awaitReady();
        JsonNode paths = document().get("paths");
        List<String> checked = new ArrayList<>();
        for (Map.Entry<String, JsonNode> path : iterable(paths)) {
            String concrete = path.getKey().replace("{model}", "sapiens-palette-demo").replace("{version}", "1");
            for (Map.Entry<String, JsonNode> operation : iterable(path.getValue())) {
                String method = operation.getKey().toUpperCase(Locale.ROOT);
                if (!Set.of("GET", "POST").contains(method)) {
                    continue;
                }
                Response response = method.equals("GET") ? given().redirects().follow(false).get(concrete)
                        : given().contentType("application/json").body("{}").post(concrete);
                String status = String.valueOf(response.statusCode());
                assertTrue(operation.getValue().get("responses").has(status), method + " " + path.getKey()
                        + " answered " + status + ", which it does not document: " + response.asString());
                checked.add(method + " " + path.getKey());
            }
        }
        assertTrue(checked.containsAll(List.of("POST /", "POST /storage/notifications", "GET /v2",
                "POST /v2/models/{model}/infer", "GET /q/health/ready")), checked.toString());
    }

    @Test
    void everyRouteOfTheApplicationIsDocumented() throws Exception {
        JsonNode paths = document().get("paths");
        Map<String, Set<String>> routes = new TreeMap<>();
        for (Route route : router.getRoutes()) {
            String name = route.isRegexPath() ? route.getName() : route.getPath();
            if (name == null || name.startsWith("/q/") || name.endsWith("/*")) {
                continue; // handlers of every request (size guard, drain, failures), Quarkus' own, the /v2 catch-all
            }
            for (String path : name.split("\\|")) {
                Set<String> methods = routes.computeIfAbsent(path, p -> new TreeSet<>());
                if (route.methods() != null) { // null: any method, of which the document names those served
                    route.methods().stream().map(HttpMethod::name).forEach(methods::add);
                }
            }
        }
        assertTrue(routes.keySet().containsAll(List.of("/", "/storage/notifications", "/v2",
                "/v2/models/{model}/versions/{version}/infer")), "the routes found: " + routes);
        for (Map.Entry<String, Set<String>> route : routes.entrySet()) {
            JsonNode documented = paths.get(route.getKey());
            assertTrue(documented != null, "route " + route.getKey() + " is not in /q/openapi");
            for (String method : route.getValue()) {
                assertTrue(documented.has(method.toLowerCase(Locale.ROOT)), method + " " + route.getKey()
                        + " is not in /q/openapi");
            }
        }
    }

    private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode node) {
        return node::fields;
    }
}
