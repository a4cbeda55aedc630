package dev.sapienseg.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.sapienseg.failure.FailureReason;

/**
 * docs/errors.md is the one table of failure reasons, held against {@link FailureReason}: every code once, with the
 * status and the retryability the code answers with; and no other page keeps a table of its own.
 */
class ErrorsReferenceTest {

    static final java.nio.file.Path PAGE = Markdown.ROOT.resolve("docs/errors.md");

    /** code → [status, retryable] for each row whose first cell is a code span. */
    static Map<String, List<String>> rows(String page) {
        Map<String, List<String>> rows = new LinkedHashMap<>();
        for (List<String> cells : Markdown.tableRows(page)) {
            Optional<String> code = Markdown.code(cells.get(0));
            if (cells.size() == 5 && code.isPresent() && rows.put(code.get(), cells.subList(1, 3)) != null) {
                rows.put(code.get() + " (twice)", cells.subList(1, 3));
            }
        }
        return rows;
    }

    static List<String> problems(Map<String, List<String>> rows) {
        List<String> problems = new ArrayList<>();
        for (FailureReason reason : FailureReason.values()) {
            List<String> row = rows.get(reason.code());
            if (row == null) {
                problems.add(reason.code() + " has no row");
            } else if (!row.equals(List.of(String.valueOf(reason.httpStatus()), reason.retryable() ? "yes" : "no"))) {
                problems.add(reason.code() + ": the page says " + row + ", the code answers " + reason.httpStatus()
                        + (reason.retryable() ? ", retryable" : ", not retryable"));
            }
        }
        rows.keySet().stream().filter(code -> Arrays.stream(FailureReason.values()).noneMatch(r -> r.code().equals(code)))
                .forEach(code -> problems.add(code + " is no failure reason"));
        return problems;
    }

    @Test
    void everyFailureReasonHasItsRowWithItsStatus() {
        assertEquals(List.of(), problems(rows(Markdown.read(PAGE))));
    }

    @Test
    void aMissingOrWrongRowIsReported() {
        String page = Markdown.read(PAGE).replaceFirst("\\| `bad-tensor` \\| 400 \\| no \\|", "| `bad-tensor` | 422 | no |")
                .replaceFirst("\\n\\| `unknown-model` [^\\n]*", "");
        assertEquals(2, problems(rows(page)).size(), problems(rows(page)).toString());
    }

    @Test
    void noOtherPageKeepsATableOfReasons() {
        List<String> problems = new ArrayList<>();
        for (java.nio.file.Path page : Markdown.files()) {
            if (page.equals(PAGE)) {
                continue;
            }
            long reasonRows = Markdown.tableRows(Markdown.read(page)).stream()
                    .filter(cells -> Arrays.stream(FailureReason.values())
                            .anyMatch(r -> cells.get(0).contains("`" + r.code() + "`")))
                    .count();
            if (reasonRows > 2) {
                problems.add(Markdown.ROOT.relativize(page) + " has " + reasonRows + " table rows starting with failure "
                        + "codes: link to docs/errors.md instead");
            }
        }
        assertEquals(List.of(), problems);
    }
}
