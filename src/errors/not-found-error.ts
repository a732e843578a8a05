import { InputError } from './input-error.ts';

/**
 * Bad input naming something that does not exist (an unknown run): a 404 on the dashboard,
 * exit 2 on the CLI like any other bad input.
 */
export class NotFoundError extends InputError {
  override readonly httpStatus: number = 404;
}
