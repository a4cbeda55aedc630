package dev.sapienseg.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import dev.sapienseg.docs.Markdown;

/**
 * The one metrics table (docs/operations.md) names every tag value the code gives: a new path, outcome or storage call
 * cannot go undocumented, and no other page keeps a second table of the meters.
 */
class MetricsReferenceTest {

    static final Path PAGE = Markdown.ROOT.resolve("docs/operations.md");

    static List<String> problems(String page) {
        List<String> problems = new ArrayList<>();
        List<String> rows = Markdown.tableRows(page).stream().map(cells -> String.join(" | ", cells)).toList();
        expect(rows, "sapiens_images_processed_total", Stream.of(RequestPath.values()).map(RequestPath::tag), problems);
        expect(rows, "sapiens_requests_total", Stream.of(Outcome.values()).map(Outcome::tag), problems);
        expect(rows, "sapiens_stage_duration_seconds", Stream.concat(
                Stream.of("decode", "preprocess", "queue", "inference", "postprocess", "encode"),
                Stream.of(StorageCall.values()).map(call -> "storage-" + call.tag())), problems);
        return problems;
    }

    private static void expect(List<String> rows, String meter, Stream<String> tags, List<String> problems) {
        String row = rows.stream().filter(r -> r.contains("`" + meter)).findFirst().orElse(null);
        if (row == null) {
            problems.add(meter + " has no row");
            return;
        }
        tags.filter(tag -> !row.contains(tag)).forEach(tag -> problems.add(meter + "'s row lacks the tag value " + tag));
    }

    @Test
    void theMetricsTableNamesEveryTagValue() {
        assertEquals(List.of(), problems(Markdown.read(PAGE)));
        String withoutInference = Markdown.read(PAGE).replace("inference", "");
        assertEquals(List.of("sapiens_images_processed_total's row lacks the tag value inference",
                "sapiens_stage_duration_seconds's row lacks the tag value inference"), problems(withoutInference));
    }

    @Test
    void thereIsOneMetricsTable() {
        List<String> pages = Markdown.files().stream().filter(page -> Markdown.tableRows(Markdown.read(page)).stream()
                .anyMatch(cells -> cells.get(0).contains("`sapiens_requests_total"))).map(Markdown.ROOT::relativize)
                .map(Path::toString).toList();
        assertEquals(List.of("docs/operations.md"), pages);
    }
}
