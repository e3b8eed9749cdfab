/* dispatch: delivers task commands to agents through the AgentCenter that holds each one.
 *
 * A task is stored as one subtask per host (status "pending"). The dispatch thread claims
 * pending subtasks (a conditional update, so several manager instances never send one twice),
 * finds the agent's AgentCenter (Redis cache agent -> admin address; on a miss or a 404, asks
 * every AgentCenter from service discovery GET /api/v1/agents/{id}) and posts the command
 * (HMAC-signed POST /api/v1/agents/{id}/commands). Delivered: "sent". Not deliverable now:
 * retried after tasks.retry_after, "undeliverable" after DISPATCH_ATTEMPTS tries. The result
 * (5100 on rampart.state) makes it "succeed" or "failed" (ingest.c). */
#ifndef RAMPART_MGR_DISPATCH_H
#define RAMPART_MGR_DISPATCH_H

#define DISPATCH_ATTEMPTS 5

typedef struct mgr mgr_t;
typedef struct dispatch dispatch_t;

dispatch_t *dispatch_new(mgr_t *m);
void dispatch_free(dispatch_t *d); /* stops the thread */
/* Wakes the thread (new subtasks). */
void dispatch_kick(dispatch_t *d);

#endif
