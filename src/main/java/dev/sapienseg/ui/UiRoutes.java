package dev.sapienseg.ui;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.lifecycle.SegmentationService;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.pipeline.SegmentationPipeline;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The page at {@code /ui/}: three static files from {@code ui/} on the class path, and {@code /ui/model.json}, the
 * served model as the page needs it (name, family, the demo flag, its classes with their colours and the selection
 * groups that mean something for them). The page sends pictures to the CloudEvent endpoint like any client: there is
 * no second API. Every answer carries a strict Content-Security-Policy: the page's own scripts and styles only,
 * pictures from itself, {@code data:} and {@code blob:}, requests to itself; nothing inline, nothing from elsewhere.
 */
@ApplicationScoped
public class UiRoutes {

    public static final String PATH = "/ui/";
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
            + " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private static final Map<String, String> FILES = Map.of("", "index.html", "app.js", "app.js", "style.css",
            "style.css");
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "js",
            "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8");

    private final SapiensConfig config;
    private final SegmentationService service;
    private final ObjectMapper json = new ObjectMapper();
    private final Map<String, byte[]> contents = new LinkedHashMap<>();

    UiRoutes(SapiensConfig config, SegmentationService service) {
        this.config = config;
        this.service = service;
    }

    void install(@Observes Router router) {
        if (!config.ui().enabled()) {
            return;
        }
        FILES.forEach((name, file) -> contents.put(name, resource(file)));
        router.get("/ui").handler(ctx -> { // Vert.x matches /ui/ here too
            if (ctx.request().path().equals("/ui")) {
                ctx.redirect(PATH);
            } else {
                ctx.next();
            }
        });
        router.get(PATH + "model.json").handler(this::model);
        for (String name : FILES.keySet()) {
            router.get(PATH + name).handler(ctx -> send(ctx, 200, TYPES.get(extension(FILES.get(name))),
                    contents.get(name)));
        }
    }

    private void model(RoutingContext ctx) {
        try {
            SegmentationPipeline pipeline = service.pipeline();
            SegmentationModel model = pipeline.model();
            Vocabulary vocabulary = pipeline.planner().vocabulary();
            List<Map<String, Object>> classes = new ArrayList<>();
            for (int id = 0; id < vocabulary.names().size(); id++) {
                classes.add(Map.of("id", id, "name", vocabulary.names().get(id), "rgb",
                        List.of(vocabulary.paletteRgb()[id][0], vocabulary.paletteRgb()[id][1],
                                vocabulary.paletteRgb()[id][2])));
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("name", model.name());
            body.put("family", model.contract().family().label());
            body.put("demo", model.isDemo());
            body.put("executionProvider", model.provider().label());
            body.put("classes", classes);
            body.put("groups", Selection.groupsOf(vocabulary));
            body.put("defaultSelection", pipeline.planner().defaultSelection().expression());
            body.put("requestType", config.events().requestType());
            send(ctx, 200, "application/json", json.writeValueAsBytes(body));
        } catch (SegmentationException e) {
            ctx.response().putHeader("Retry-After", String.valueOf(config.limits().retryAfterSeconds()));
            send(ctx, 503, "application/json", ("{\"message\":" + quoted(e.getMessage()) + "}").getBytes());
        } catch (JsonProcessingException e) {
            ctx.fail(e);
        }
    }

    private String quoted(String text) {
        try {
            return json.writeValueAsString(text);
        } catch (JsonProcessingException e) {
            return "\"\"";
        }
    }

    private static void send(RoutingContext ctx, int status, String type, byte[] body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", type)
                .putHeader("Content-Security-Policy", CSP).putHeader("X-Content-Type-Options", "nosniff")
                .putHeader("Referrer-Policy", "no-referrer").putHeader("Cache-Control", "no-cache")
                .end(Buffer.buffer(body));
    }

    private static byte[] resource(String file) {
        try (InputStream in = UiRoutes.class.getClassLoader().getResourceAsStream("ui/" + file)) {
            if (in == null) {
                throw new IllegalStateException("ui/" + file + " is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String extension(String file) {
        return file.substring(file.lastIndexOf('.') + 1);
    }
}
